// Package runspec is the run's specification (Spec: image, command, configuration, limits) and the one
// batch/v1 Job the plugin creates from it (BuildJob), with the holder container that keeps the pod's report
// volume readable after the test ended. It is pure: it talks to no cluster.
package runspec
