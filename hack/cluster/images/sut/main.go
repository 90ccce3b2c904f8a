// Command sut is the system under test of the in-cluster story: a small HTTP service in the image
// testrun.local/sut:v1 (built by hack/cluster/images.sh), deployed as a Deployment and a Service named sut
// (hack/demo/sut.yaml), and called by the go-test plugin's sample suite through the Service's DNS name.
//
// It serves, on $SUT_ADDR (default :8080):
//
//	GET /healthz         "ok", for the readiness probe
//	GET /greeting        "hello from sut <version> in <namespace>" ($SUT_VERSION, default v1; $POD_NAMESPACE)
//	GET /sum?a=INT&b=INT the sum as a decimal number; 400 with the reason for a missing or bad number
//
// Every request other than /healthz is logged to stdout with its answer, so that `kubectl testrun run
// --dump-selector app=sut` shows what the tests asked when they failed. SIGTERM stops it at once.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if err := serve(); err != nil {
		log.Printf("sut: %v", err)
		os.Exit(1)
	}
}

// serve runs the service until SIGTERM or SIGINT.
func serve() error {
	log.SetFlags(0)
	log.SetOutput(os.Stdout)
	addr := env("SUT_ADDR", ":8080")
	srv := &http.Server{Addr: addr, Handler: handler(env("SUT_VERSION", "v1"), os.Getenv("POD_NAMESPACE")), ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("sut: listening on %s", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Printf("sut: stopped")
	return nil
}

// env returns the environment variable name, or def when it is unset or empty.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// handler serves the service's three endpoints.
func handler(version, namespace string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /greeting", func(w http.ResponseWriter, r *http.Request) {
		answer(w, r, http.StatusOK, fmt.Sprintf("hello from sut %s in %s", version, namespace))
	})
	mux.HandleFunc("GET /sum", func(w http.ResponseWriter, r *http.Request) {
		a, errA := strconv.Atoi(r.URL.Query().Get("a"))
		b, errB := strconv.Atoi(r.URL.Query().Get("b"))
		if errA != nil || errB != nil {
			answer(w, r, http.StatusBadRequest, fmt.Sprintf("a and b must be integers, got a=%q b=%q", r.URL.Query().Get("a"), r.URL.Query().Get("b")))
			return
		}
		answer(w, r, http.StatusOK, strconv.Itoa(a+b))
	})
	return mux
}

// answer writes body with status and logs the request with its answer.
func answer(w http.ResponseWriter, r *http.Request, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, body)
	log.Printf("sut: %s %s from %s -> %d %s", r.Method, r.URL.RequestURI(), r.RemoteAddr, status, body)
}
