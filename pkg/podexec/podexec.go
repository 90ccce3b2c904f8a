// Package podexec runs a command in a container through the API server, the way kubectl exec does: over
// WebSocket, falling back to SPDY for API servers that cannot upgrade. The stream is byte-exact, unlike logs.
package podexec

import (
	"context"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
)

// Executor runs commands in containers.
type Executor interface {
	// Exec runs command in the container and returns when it has ended; a non-zero exit is an error.
	Exec(ctx context.Context, namespace, pod, container string, command []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// Remote is the Executor that talks to a real API server.
type Remote struct {
	Config *rest.Config
	Client kubernetes.Interface
}

// Exec implements Executor.
func (r *Remote) Exec(ctx context.Context, namespace, pod, container string, command []string, stdin io.Reader, stdout, stderr io.Writer) error {
	req := r.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   command,
			Stdin:     stdin != nil,
			Stdout:    stdout != nil,
			Stderr:    stderr != nil,
		}, scheme.ParameterCodec)
	spdy, err := remotecommand.NewSPDYExecutor(r.Config, "POST", req.URL())
	if err != nil {
		return err
	}
	// WebSocket must use GET (RFC 6455); SPDY is the fallback for servers that cannot upgrade.
	ws, err := remotecommand.NewWebSocketExecutor(r.Config, "GET", req.URL().String())
	if err != nil {
		return err
	}
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, fallBackToSPDY)
	if err != nil {
		return err
	}
	if err := exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr}); err != nil {
		return fmt.Errorf("exec in container %q of pod %q: %w", container, pod, err)
	}
	return nil
}

// fallBackToSPDY tells whether a failed WebSocket exec should be retried over SPDY: when the server (or a
// proxy on the way) refused the upgrade, as kubectl exec decides. client-go's WebSocket transport reports
// that with k8s.io/streaming's UpgradeFailureError; apimachinery's deprecated httpstream package has a type
// of the same name that it never returns.
func fallBackToSPDY(err error) bool {
	return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
}
