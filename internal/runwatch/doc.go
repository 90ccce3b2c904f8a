// Package runwatch follows a run in the cluster: informers on its Job and pods (Watch), the events that
// explain a run that does not start (a refused pod, an unschedulable one, a lost node), and whether the API
// server still answers (APIHealth).
package runwatch
