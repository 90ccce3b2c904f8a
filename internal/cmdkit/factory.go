package cmdkit

import (
	"io"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runwatch"
	"github.com/kubectl-testrun/kubectl-testrun/pkg/exitcode"
)

// Clients are the API clients and the namespace every command needs.
type Clients struct {
	Client    kubernetes.Interface
	Config    *rest.Config
	Namespace string
	// API tells whether Client's requests reach the API server.
	API *runwatch.APIHealth
}

// Factory builds what a verb needs from the standard kubeconfig flags. Verbs ask it for clients in their
// Complete step, never at construction, so that --help and flag errors need no kubeconfig; unit tests give
// every verb a Factory of fakes (NewFakeFactory).
type Factory struct {
	// ConfigFlags are the standard kubeconfig flags (--context, -n, --as, ...), bound on the root command.
	ConfigFlags *genericclioptions.ConfigFlags

	clients   func() (Clients, error)
	namespace func() (string, error)
	color     string
}

// SetColor makes the API server's warnings follow the verb's --color (auto, always or never), as the plugin's
// own messages do. The root command calls it before the verb runs.
func (f *Factory) SetColor(mode string) { f.color = mode }

// NewFactory returns the Factory of the real command line. The API server's warnings (a PodSecurity "would
// violate", a deprecated API) go to warnings as kubectl prints them: "Warning: ...", each once.
func NewFactory(flags *genericclioptions.ConfigFlags, warnings io.Writer) *Factory {
	f := &Factory{ConfigFlags: flags, color: "auto"}
	f.clients = func() (Clients, error) {
		return newClients(flags, NewWarningHandler(warnings, (&ProgressFlags{Color: f.color}).UseColor(warnings)))
	}
	f.namespace = func() (string, error) {
		ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
		return ns, err
	}
	return f
}

// NewFakeFactory returns a Factory whose clients are client in namespace, for unit tests.
func NewFakeFactory(client kubernetes.Interface, namespace string) *Factory {
	f := &Factory{ConfigFlags: genericclioptions.NewConfigFlags(false)}
	f.clients = func() (Clients, error) {
		return Clients{Client: client, Config: &rest.Config{Host: "https://fake.invalid"}, Namespace: namespace, API: &runwatch.APIHealth{}}, nil
	}
	f.namespace = func() (string, error) { return namespace, nil }
	return f
}

// Clients builds the API clients; a failure is bad input (125).
func (f *Factory) Clients() (Clients, error) {
	return f.clients()
}

// Namespace returns the namespace of the kubeconfig flags (-n, or the context's), without building clients.
func (f *Factory) Namespace() (string, error) {
	ns, err := f.namespace()
	if err != nil {
		return "", exitcode.New(exitcode.CannotRun, err)
	}
	return ns, nil
}

// The client-side rate limit of every command's API client.
const (
	clientQPS   = 50
	clientBurst = 100
)

// NewWarningHandler returns the handler of the API server's warnings that kubectl uses: each warning once, as
// "Warning: ..." on w, its label coloured when color says so. The text comes from the cluster (an admission
// webhook may write anything), so it is escaped like pod text.
func NewWarningHandler(w io.Writer, color bool) rest.WarningHandler {
	return escapedWarnings{rest.NewWarningWriter(w, rest.WarningWriterOptions{Deduplicate: true, Color: color})}
}

// escapedWarnings escapes a warning's text before its handler prints it (with its own colour).
type escapedWarnings struct{ rest.WarningHandler }

// HandleWarningHeader implements rest.WarningHandler.
func (e escapedWarnings) HandleWarningHeader(code int, agent, text string) {
	e.WarningHandler.HandleWarningHeader(code, agent, printers.EscapeTerminal(text))
}

// newClients builds the clients from the kubeconfig flags; warnings handles the API server's warnings.
func newClients(f *genericclioptions.ConfigFlags, warnings rest.WarningHandler) (Clients, error) {
	var c Clients
	var err error
	if c.Namespace, _, err = f.ToRawKubeConfigLoader().Namespace(); err != nil {
		return c, exitcode.New(exitcode.CannotRun, err)
	}
	if c.Config, err = f.ToRESTConfig(); err != nil {
		return c, exitcode.New(exitcode.CannotRun, err)
	}
	// client-go's default rate limit (5 requests a second, bursts of 10) holds back the few requests a run
	// makes at its end by 120–170 ms each (docs/performance.md); the run's requests are bounded by design.
	if c.Config.QPS == 0 && c.Config.Burst == 0 {
		c.Config.QPS, c.Config.Burst = clientQPS, clientBurst
	}
	c.Config.WarningHandler = warnings
	c.API = &runwatch.APIHealth{}
	c.Config.Wrap(c.API.Wrap)
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return c, exitcode.New(exitcode.CannotRun, err)
	}
	return c, nil
}
