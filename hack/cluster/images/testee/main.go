// Command testee is the program of the testrun.local/testee test images: a "distroless-like" image that
// holds only this static binary as /testee (no shell, no tar), for the end-to-end tests of kubectl-testrun.
//
// Run without arguments, it does what its environment says, in this order:
//
//	TESTEE_PRINT=TEXT          print TEXT verbatim and a newline to stdout (TEXT may span lines)
//	TESTEE_LINES=N             print "line 1" ... "line N" to stdout
//	TESTEE_STDERR=TEXT         print TEXT and a newline to stderr
//	TESTEE_FILES=PATH=SPEC;... write files; SPEC is one of
//	                             text:CONTENT     CONTENT with the escapes \n \r \t \\ \; turned into their characters
//	                             random:SIZE      SIZE pseudo-random bytes, the same for the same PATH (ChaCha8
//	                                              seeded with the SHA-256 of PATH as written), written streaming
//	                             junit:P,F,S      a JUnit XML report with P passed, F failed and S skipped testcases
//	                           a relative PATH is taken under $TESTRUN_REPORT_DIR, or /reports when that is unset;
//	                           missing parent directories are made
//	TESTEE_MEMORY=SIZE         allocate and touch SIZE bytes (a plain number or with a suffix k, M, G, T, Ki, Mi,
//	                           Gi, Ti), kept until exit, so a lower memory limit gets the container OOMKilled
//	TESTEE_SLEEP=DURATION      sleep DURATION (Go syntax: 500ms, 30s, 2m), then print "slept"
//	TESTEE_EXIT=CODE           exit with CODE (default 0)
//
// SIGTERM (or SIGINT) makes it print "terminated" and exit 128+signal (143 for SIGTERM): at once during the
// sleep, otherwise before the next step. An invalid setting is reported on stderr before anything else is
// done, with exit code 2.
//
// Run with arguments, "testee print WORD..." prints the words joined by spaces and exits 0 (so a command
// such as `/testee print hello` works); any other arguments print the usage to stderr and exit 2.
//
// Before it exits it pauses for exitPause, so that everything it printed is in the container's log. The
// containerd 1.6 of this harness closes a container's output pipe as soon as it handles the exit and drops
// what it had not read yet (its log says "Failed to pipe stdout of container … file already closed"; seen
// once in a few dozen runs of 10,000 lines, cut at a 32 KiB read boundary). That loss happens before any
// log reader, kubectl logs included, so the end-to-end tests of the plugin's streaming would otherwise
// fail now and then for a reason that is not the plugin's.
package main

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const usage = `usage: testee                  act as the TESTEE_* environment variables say
       testee print WORD...   print the words and exit 0

environment, applied in this order:
  TESTEE_PRINT=TEXT           print TEXT to stdout
  TESTEE_LINES=N              print "line 1" ... "line N" to stdout
  TESTEE_STDERR=TEXT          print TEXT to stderr
  TESTEE_FILES=PATH=SPEC;...  write files, SPEC is text:CONTENT, random:SIZE or junit:PASSED,FAILED,SKIPPED;
                              relative paths are under $TESTRUN_REPORT_DIR (default /reports)
  TESTEE_MEMORY=SIZE          allocate and touch SIZE bytes (e.g. 200Mi)
  TESTEE_SLEEP=DURATION       sleep (e.g. 30s), then print "slept"; SIGTERM prints "terminated" and exits 143
  TESTEE_EXIT=CODE            exit code (default 0)
`

// defaultReportDir is where relative TESTEE_FILES paths go when TESTRUN_REPORT_DIR is unset.
const defaultReportDir = "/reports"

// exitPause is the pause before exiting (see the package comment).
const exitPause = 300 * time.Millisecond

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	code := run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr, sigs)
	time.Sleep(exitPause)
	os.Exit(code)
}

// config is what the TESTEE_* variables ask for.
type config struct {
	print      *string
	lines      int
	stderr     *string
	files      []fileSpec
	reportDir  string
	memory     int64
	sleep      time.Duration
	exitCode   int
	sleepGiven bool
}

// fileSpec is one entry of TESTEE_FILES.
type fileSpec struct {
	Path string // as written; relative paths are resolved against the report directory
	Kind string // "text", "random" or "junit"
	Text string // content of a text file, escapes already turned into characters
	Size int64  // size of a random file
	// Testcase counts of a junit file.
	Passed, Failed, Skipped int
}

// run does what args and the environment (read through lookup) ask for and returns the exit code. A
// signal received on sigs ends it with 128+signal.
func run(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	if len(args) > 0 {
		if args[0] == "print" {
			fmt.Fprintln(stdout, strings.Join(args[1:], " "))
			return 0
		}
		fmt.Fprint(stderr, usage)
		return 2
	}
	cfg, err := loadConfig(lookup)
	if err != nil {
		fmt.Fprintf(stderr, "testee: %v\n", err)
		return 2
	}

	// terminated reports a signal that arrived, if any, and the exit code it asks for.
	terminated := func() (int, bool) {
		select {
		case s := <-sigs:
			fmt.Fprintln(stdout, "terminated")
			return signalExitCode(s), true
		default:
			return 0, false
		}
	}

	if cfg.print != nil {
		fmt.Fprintln(stdout, *cfg.print)
	}
	if cfg.lines > 0 {
		if err := printLines(stdout, cfg.lines); err != nil {
			fmt.Fprintf(stderr, "testee: printing lines: %v\n", err)
			return 1
		}
	}
	if cfg.stderr != nil {
		fmt.Fprintln(stderr, *cfg.stderr)
	}
	if code, ok := terminated(); ok {
		return code
	}
	for _, f := range cfg.files {
		if err := writeFile(f, cfg.reportDir); err != nil {
			fmt.Fprintf(stderr, "testee: %v\n", err)
			return 1
		}
		if code, ok := terminated(); ok {
			return code
		}
	}
	var memory []byte
	if cfg.memory > 0 {
		memory = allocate(cfg.memory)
	}
	if code, ok := terminated(); ok {
		return code
	}
	if cfg.sleepGiven {
		timer := time.NewTimer(cfg.sleep)
		select {
		case <-timer.C:
			fmt.Fprintln(stdout, "slept")
		case s := <-sigs:
			timer.Stop()
			fmt.Fprintln(stdout, "terminated")
			return signalExitCode(s)
		}
	}
	runtime.KeepAlive(memory)
	return cfg.exitCode
}

// signalExitCode is the shell convention for a process ended by signal s: 128 plus its number.
func signalExitCode(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 128 + int(syscall.SIGTERM)
}

// loadConfig reads and checks every TESTEE_* variable, so that a mistake is reported before any step runs.
func loadConfig(lookup func(string) (string, bool)) (config, error) {
	var cfg config
	get := func(key string) string {
		v, _ := lookup(key)
		return strings.TrimSpace(v)
	}
	if v, ok := lookup("TESTEE_PRINT"); ok {
		cfg.print = &v
	}
	if v, ok := lookup("TESTEE_STDERR"); ok {
		cfg.stderr = &v
	}
	if v := get("TESTEE_LINES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return cfg, fmt.Errorf("TESTEE_LINES=%q: want a number of lines, such as 1000", v)
		}
		cfg.lines = n
	}
	if v, ok := lookup("TESTEE_FILES"); ok && strings.TrimSpace(v) != "" {
		files, err := parseFiles(v)
		if err != nil {
			return cfg, fmt.Errorf("TESTEE_FILES: %w", err)
		}
		cfg.files = files
	}
	cfg.reportDir = defaultReportDir
	if v, ok := lookup("TESTRUN_REPORT_DIR"); ok && v != "" {
		cfg.reportDir = v
	}
	if v := get("TESTEE_MEMORY"); v != "" {
		n, err := parseSize(v)
		if err != nil {
			return cfg, fmt.Errorf("TESTEE_MEMORY: %w", err)
		}
		cfg.memory = n
	}
	if v := get("TESTEE_SLEEP"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return cfg, fmt.Errorf("TESTEE_SLEEP=%q: want a Go duration such as 30s or 2m", v)
		}
		cfg.sleep, cfg.sleepGiven = d, true
	}
	if v := get("TESTEE_EXIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 255 {
			return cfg, fmt.Errorf("TESTEE_EXIT=%q: want an exit code from 0 to 255", v)
		}
		cfg.exitCode = n
	}
	return cfg, nil
}

// printLines writes "line 1" to "line n", buffered, and flushes at the end.
func printLines(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	buf := make([]byte, 0, 32)
	for i := 1; i <= n; i++ {
		buf = append(buf[:0], "line "...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// sizeSuffixes are the multipliers parseSize accepts, as in Kubernetes quantities (plus K for k).
var sizeSuffixes = []struct {
	suffix string
	mult   int64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
	{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
}

// parseJUnitCounts parses "PASSED,FAILED,SKIPPED".
func parseJUnitCounts(s string) (passed, failed, skipped int, err error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return 0, 0, 0, fmt.Errorf("junit:%s: want three counts, junit:PASSED,FAILED,SKIPPED", s)
	}
	var n [3]int
	for i, p := range parts {
		n[i], err = strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n[i] < 0 {
			return 0, 0, 0, fmt.Errorf("junit:%s: %q is not a count", s, p)
		}
	}
	return n[0], n[1], n[2], nil
}

type junitTestsuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Skipped  int              `xml:"skipped,attr"`
	Time     string           `xml:"time,attr"`
	Suites   []junitTestsuite `xml:"testsuite"`
}

type junitTestsuite struct {
	Name     string          `xml:"name,attr"`
	Tests    int             `xml:"tests,attr"`
	Failures int             `xml:"failures,attr"`
	Errors   int             `xml:"errors,attr"`
	Skipped  int             `xml:"skipped,attr"`
	Time     string          `xml:"time,attr"`
	Cases    []junitTestcase `xml:"testcase"`
}

type junitTestcase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// writeJUnit writes a JUnit XML report with one testsuite, "testee", of passed, failed and skipped
// testcases named test_passed_N, test_failed_N and test_skipped_N.
func writeJUnit(w io.Writer, passed, failed, skipped int) error {
	suite := junitTestsuite{
		Name:     "testee",
		Tests:    passed + failed + skipped,
		Failures: failed,
		Skipped:  skipped,
		Time:     "0.000",
	}
	add := func(kind string, n int, tc func(name string) junitTestcase) {
		for i := 1; i <= n; i++ {
			suite.Cases = append(suite.Cases, tc(fmt.Sprintf("test_%s_%d", kind, i)))
		}
	}
	base := func(name string) junitTestcase {
		return junitTestcase{Name: name, Classname: "testee", Time: "0.000"}
	}
	add("passed", passed, base)
	add("failed", failed, func(name string) junitTestcase {
		tc := base(name)
		tc.Failure = &junitFailure{
			Message: name + " failed: expected true, got false",
			Type:    "AssertionError",
			Text:    "testee: " + name + ": expected true, got false",
		}
		return tc
	})
	add("skipped", skipped, func(name string) junitTestcase {
		tc := base(name)
		tc.Skipped = &junitSkipped{Message: name + " skipped"}
		return tc
	})
	doc := junitTestsuites{
		Name:     "testee",
		Tests:    suite.Tests,
		Failures: suite.Failures,
		Skipped:  suite.Skipped,
		Time:     suite.Time,
		Suites:   []junitTestsuite{suite},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
