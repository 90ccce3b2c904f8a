//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// clusterSettings returns the named settings of the local cluster (hack/cluster/lib.sh, with the
// environment's overrides), so the tests check the addresses the cluster really uses.
func clusterSettings(t *testing.T, names ...string) map[string]string {
	t.Helper()
	script := `. "$1/hack/cluster/lib.sh"; shift; for n; do printf '%s\n' "${!n}"; done`
	out, err := exec.CommandContext(t.Context(), "bash", append([]string{"-c", script, "bash", repoRoot}, names...)...).Output()
	if err != nil {
		t.Fatalf("reading %v from hack/cluster/lib.sh: %v", names, err)
	}
	values := lines(string(out))
	if len(values) != len(names) {
		t.Fatalf("hack/cluster/lib.sh gave %d values for %v: %q", len(values), names, values)
	}
	settings := make(map[string]string, len(names))
	for i, n := range names {
		settings[n] = values[i]
	}
	return settings
}

// serveHTTP starts a busybox httpd pod labelled app=NAME that serves body on port 8080, and a ClusterIP
// Service NAME on port 80 in front of it, and waits until the Service has the pod as a ready endpoint.
func serveHTTP(t *testing.T, ns, name, body string) {
	t.Helper()
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %[1]s
  labels: {app: %[1]s}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: %[2]s
    command: [sh, -c, 'mkdir -p /www && echo "$BODY" > /www/index.html && exec httpd -f -p 8080 -h /www']
    env: [{name: BODY, value: %[3]q}]
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector: {app: %[1]s}
  ports: [{port: 80, targetPort: 8080}]
`, name, busybox, body)
	path := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "-n", ns, "apply", "-f", path)
	waitFor(t, 90*time.Second, "a ready endpoint of Service "+name, func(ctx context.Context) (bool, error) {
		slices, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + name})
		if err != nil {
			return false, err
		}
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					return true, nil
				}
			}
		}
		return false, nil
	})
}

// noMissingClusterDNSEvents fails the test when the kubelet warned, for a pod of ns, that it has no cluster
// DNS to give it.
func noMissingClusterDNSEvents(t *testing.T, ns string) {
	t.Helper()
	events, err := client.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing events: %v", err)
	}
	for _, e := range events.Items {
		if e.Reason == "MissingClusterDNS" {
			t.Errorf("the kubelet warned %s for %s: %s", e.Reason, e.InvolvedObject.Name, e.Message)
		}
	}
}

// A test run in the cluster reaches the system under test through its Service, by the full DNS name, by the
// short name through the pod's search path and by name.namespace; its pod gets the cluster's DNS.
func TestNetworkATestReachesAServiceByItsDNSNames(t *testing.T) {
	ns := namespace(t)
	s := clusterSettings(t, "CLUSTER_DNS_IP", "CLUSTER_DOMAIN")
	serveHTTP(t, ns, "web", "hello from web in "+ns)

	// kube-proxy programs a new endpoint within about a second of the EndpointSlice: retry for a while.
	script := fmt.Sprintf(`cat /etc/resolv.conf
get() { for i in $(seq 30); do wget -q -O - "$1" 2>/dev/null && return 0; sleep 1; done; wget -q -O - "$1"; }
out=$(get http://web.%[1]s.svc.%[2]s/) && echo "full: $out" &&
out=$(get http://web/) && echo "short: $out" &&
out=$(get http://web.%[1]s/) && echo "namespaced: $out"`, ns, s["CLUSTER_DOMAIN"])
	r := testrun(t, "run", "net-client", "-n", ns, "--image", busybox, "--", "sh", "-c", script)
	if r.code != 0 {
		t.Fatalf("the client could not reach Service web by its names: %s", r)
	}
	for _, want := range []string{
		"nameserver " + s["CLUSTER_DNS_IP"],
		"search " + ns + ".svc." + s["CLUSTER_DOMAIN"] + " svc." + s["CLUSTER_DOMAIN"] + " " + s["CLUSTER_DOMAIN"],
		"full: hello from web in " + ns,
		"short: hello from web in " + ns,
		"namespaced: hello from web in " + ns,
	} {
		if !slices.Contains(lines(r.stdout), want) {
			t.Errorf("the client's output lacks the line %q: %s", want, r)
		}
	}
	noMissingClusterDNSEvents(t, ns)
}

// A test in a pod finds the API server as kubernetes.default and talks to it through the kubernetes Service
// with its pod's ServiceAccount, as in-cluster clients do: the API says who the caller is. The client is the
// harness' kubectl (static), mounted into a busybox pod: once with the in-cluster configuration (the
// Service's address from the pod's environment, no kubeconfig), once by the Service's DNS name with the
// cluster CA checked against the API server's certificate.
func TestNetworkATestTalksToTheAPIThroughTheKubernetesServiceWithItsServiceAccount(t *testing.T) {
	ns := namespace(t)
	s := clusterSettings(t, "SERVICE_IP", "CLUSTER_DOMAIN")
	script := fmt.Sprintf(`set -e
# The C library's resolver walks the search path (busybox's nslookup does not): ping only to resolve.
ping -c 1 -W 1 kubernetes.default 2>&1 | sed -n 's/^PING kubernetes.default (\([0-9.]*\)).*/kubernetes.default is \1/p'
echo "in-cluster: $(/kubectl --cache-dir /tmp/kube auth whoami -o jsonpath='{.status.userInfo.username}')"
sa=/var/run/secrets/kubernetes.io/serviceaccount
echo "by name: $(/kubectl --cache-dir /tmp/kube --server https://kubernetes.default.svc.%s --certificate-authority $sa/ca.crt \
  --token "$(cat $sa/token)" auth whoami -o jsonpath='{.status.userInfo.username}')"`, s["CLUSTER_DOMAIN"])
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "api-client", Namespace: ns},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name:         "client",
				Image:        busybox,
				Command:      []string{"sh", "-c", script},
				VolumeMounts: []corev1.VolumeMount{{Name: "kubectl", MountPath: "/kubectl", ReadOnly: true}},
			}},
			Volumes: []corev1.Volume{{Name: "kubectl", VolumeSource: corev1.VolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: kubectlBin, Type: ptr.To(corev1.HostPathFile)},
			}}},
		},
	}
	if _, err := client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the client pod: %v", err)
	}
	var phase corev1.PodPhase
	waitFor(t, 120*time.Second, "the client pod to finish", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		phase = p.Status.Phase
		return phase == corev1.PodSucceeded || phase == corev1.PodFailed, nil
	})
	logs, err := client.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(t.Context())
	if err != nil {
		t.Fatalf("reading the client's logs: %v", err)
	}
	out := string(logs)
	if phase != corev1.PodSucceeded {
		t.Fatalf("the pod could not call the API through the kubernetes Service (pod %s):\n%s", phase, out)
	}
	user := "system:serviceaccount:" + ns + ":default"
	for _, want := range []string{"kubernetes.default is " + s["SERVICE_IP"], "in-cluster: " + user, "by name: " + user} {
		if !slices.Contains(lines(out), want) {
			t.Errorf("the client's output lacks the line %q:\n%s", want, out)
		}
	}
	noMissingClusterDNSEvents(t, ns)
}

// hostResolver returns the first nameserver of this machine's /etc/resolv.conf.
func hostResolver(t *testing.T) string {
	t.Helper()
	conf, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines(string(conf)) {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "nameserver" && net.ParseIP(f[1]).To4() != nil {
			return f[1]
		}
	}
	t.Fatal("/etc/resolv.conf names no IPv4 nameserver")
	return ""
}

// unassignedServiceIP returns an address of the Service range that no Service has.
func unassignedServiceIP(t *testing.T, serviceCIDR string) string {
	t.Helper()
	_, cidr, err := net.ParseCIDR(serviceCIDR)
	if err != nil {
		t.Fatalf("SERVICE_CIDR %q: %v", serviceCIDR, err)
	}
	services, err := client.CoreV1().Services(metav1.NamespaceAll).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing services: %v", err)
	}
	taken := map[string]bool{}
	for _, svc := range services.Items {
		for _, ip := range svc.Spec.ClusterIPs {
			taken[ip] = true
		}
	}
	base := cidr.IP.To4()
	for last := 250; last > 1; last-- {
		ip := net.IPv4(base[0], base[1], base[2], byte(last)).String()
		if cidr.Contains(net.ParseIP(ip)) && !taken[ip] {
			return ip
		}
	}
	t.Fatalf("no free address in %s", serviceCIDR)
	return ""
}

// Nothing the cluster's pods send leaves this machine: a name outside the cluster gets a negative answer from
// the cluster's own DNS (example.com exists, so a forwarded query would have found it), and a pod's packets
// for an unassigned Service address or for the host's own resolver are rejected on this machine at once:
// the client sees "no route to host" (an explicit rejection), not the silence of a packet sent away. The
// test waits up to 30 s for each connection, so a dropped or forwarded packet would show as a timeout.
func TestNetworkNothingAPodSendsLeavesTheMachine(t *testing.T) {
	ns := namespace(t)
	s := clusterSettings(t, "SERVICE_CIDR", "CLUSTER_DNS_IP")
	free := unassignedServiceIP(t, s["SERVICE_CIDR"])
	resolver := hostResolver(t)

	script := fmt.Sprintf(`nslookup example.com 2>&1 | sed 's/^/outside name: /'
nslookup example.com %[2]s 2>&1 | sed 's/^/host resolver: /'
t0=$(date +%%s); nc -w 30 %[1]s 80 </dev/null 2>&1 | sed 's/^/unassigned: /'; echo "unassigned took $(( $(date +%%s) - t0 ))s"
t0=$(date +%%s); nc -w 30 %[2]s 53 </dev/null 2>&1 | sed 's/^/host resolver tcp: /'; echo "host resolver tcp took $(( $(date +%%s) - t0 ))s"
true`, free, resolver)
	r := testrun(t, "run", "leak-probe", "-n", ns, "--image", busybox, "--", "sh", "-c", script)
	if r.code != 0 {
		t.Fatalf("the probe did not run: %s", r)
	}
	t.Logf("probe output:\n%s", r.stdout)
	out := r.stdout
	if !strings.Contains(out, "outside name: Server:\t\t"+s["CLUSTER_DNS_IP"]) || !strings.Contains(out, "outside name: ** server can't find example.com: NXDOMAIN") {
		t.Errorf("example.com was not answered NXDOMAIN by the cluster DNS %s: %s", s["CLUSTER_DNS_IP"], r)
	}
	if strings.Contains(out, "host resolver: Name:") {
		t.Errorf("a pod got an answer from the host's resolver %s: its query left the machine: %s", resolver, r)
	}
	for _, who := range []string{"host resolver", "unassigned", "host resolver tcp"} {
		var said []string
		for _, l := range lines(out) {
			if rest, ok := strings.CutPrefix(l, who+": "); ok {
				said = append(said, rest)
			}
		}
		if got := strings.Join(said, "\n"); !strings.Contains(got, "No route to host") {
			t.Errorf("%s: the packet was not rejected on this machine: the client said %q, want \"No route to host\"", who, got)
		}
	}
}

// The machine itself keeps the Service range off its default route: the kernel routes it onto the cluster's
// portless node bridge, and a connection from the host to an unassigned Service address is rejected at once.
func TestNetworkTheHostNeverRoutesTheServiceRangeToItsDefaultGateway(t *testing.T) {
	s := clusterSettings(t, "SERVICE_CIDR", "NODE_BRIDGE")
	free := unassignedServiceIP(t, s["SERVICE_CIDR"])

	route, err := exec.CommandContext(t.Context(), "ip", "route", "get", free).CombinedOutput()
	if err != nil {
		t.Fatalf("ip route get %s: %v: %s", free, err, route)
	}
	def, err := exec.CommandContext(t.Context(), "ip", "-4", "route", "show", "default").CombinedOutput()
	if err != nil {
		t.Fatalf("ip route show default: %v: %s", err, def)
	}
	t.Logf("ip route get %s: %s; default route: %s", free, route, def)
	if fields := strings.Fields(string(route)); !slices.Contains(fields, "dev") || fields[slices.Index(fields, "dev")+1] != s["NODE_BRIDGE"] {
		t.Errorf("the host routes the unassigned Service address %s %q, want onto %s", free, route, s["NODE_BRIDGE"])
	}
	if strings.Contains(string(route), " via ") {
		t.Errorf("the host routes the Service address %s through a gateway: %s", free, route)
	}

	start := time.Now()
	conn, err := (&net.Dialer{Timeout: 30 * time.Second}).DialContext(t.Context(), "tcp", net.JoinHostPort(free, "80"))
	took := time.Since(start)
	if err == nil {
		_ = conn.Close()
		t.Fatalf("connected to the unassigned Service address %s", free)
	}
	t.Logf("dialling %s from the host: %v after %s", free, err, took.Round(time.Millisecond))
	if !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Errorf("dialling the unassigned Service address %s: %v; want it rejected on this machine (no route to host)", free, err)
	}
}

// The cluster's DNS Service is the one the kubelet gives pods, and kube-proxy serves it: its ClusterIP
// answers for the cluster domain from the host too.
func TestNetworkTheClusterDNSServiceAnswersForServicesFromTheHost(t *testing.T) {
	s := clusterSettings(t, "CLUSTER_DNS_IP", "CLUSTER_DOMAIN", "SERVICE_IP")
	svc, err := client.CoreV1().Services(metav1.NamespaceSystem).Get(t.Context(), "kube-dns", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the kube-dns Service: %v", err)
	}
	if svc.Spec.ClusterIP != s["CLUSTER_DNS_IP"] {
		t.Errorf("kube-dns has ClusterIP %s, want the kubelet's clusterDNS %s", svc.Spec.ClusterIP, s["CLUSTER_DNS_IP"])
	}
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(s["CLUSTER_DNS_IP"], "53"))
	}}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	addrs, err := resolver.LookupHost(ctx, "kubernetes.default.svc."+s["CLUSTER_DOMAIN"])
	if err != nil || !slices.Equal(addrs, []string{s["SERVICE_IP"]}) {
		t.Errorf("kubernetes.default.svc.%s from %s = %v, %v; want [%s]", s["CLUSTER_DOMAIN"], s["CLUSTER_DNS_IP"], addrs, err, s["SERVICE_IP"])
	}
	_, err = resolver.LookupHost(ctx, "example.com")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("example.com from the cluster DNS: %v; want not found (NXDOMAIN), never an answer from outside", err)
	}
}
