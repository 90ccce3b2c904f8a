// Command coredns is the local cluster's DNS server: CoreDNS with only the plugins its Corefile uses, so that
// it builds in the same `go build` as the Kubernetes components and shares their compiled packages.
// cluster.sh runs it on the node address; the kubelet's clusterDNS points pods at it through the kube-dns
// Service. Names in the cluster domain come from the API (plugin kubernetes); every other name is answered
// NXDOMAIN here (plugin template): nothing is ever forwarded off this machine.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/template"
)

// directives are the linked plugins in the order a query passes through them (CoreDNS's own order).
var directives = []string{"bind", "ready", "errors", "template", "kubernetes"}

func main() {
	dnsserver.Directives = directives
	coremain.Run()
}
