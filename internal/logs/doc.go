// Package logs streams a run's container logs: a follower that resumes where a stream broke off and reports
// what the kubelet lost, and the logs verb's engine over the pods of one or several runs.
package logs
