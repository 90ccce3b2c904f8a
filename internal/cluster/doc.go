// Package cluster finds, lists and deletes the runs that exist in a cluster (their Jobs), and checks before a
// run that the user may do what a run needs (Preflight). It knows runs only by their labels: nothing is
// installed in the cluster to keep track of them.
package cluster
