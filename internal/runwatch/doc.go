// Package runwatch follows a run in the cluster: informers on its Job and pods (Watch), the events that
// explain a run that does not start (a refused pod, an unschedulable one, a lost node), whether the API
// server still answers (APIHealth), and what a follower says about where its run stands: the progress report
// asked for with SIGUSR1 and the heartbeat of --progress-every (Snapshot, Pulse).
package runwatch
