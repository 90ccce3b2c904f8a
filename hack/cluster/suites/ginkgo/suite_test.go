// Package suite is the sample suite of the ginkgo plugin: compiled with `go test -c` into a static binary
// (/tests/suite.test) and run by the ginkgo CLI in testrun.local/suite-ginkgo:v1 (hack/cluster/suites.sh).
// Two specs pass, one fails and one is skipped, so the e2e test sees a failing exit code and all four in the
// JUnit summary.
package suite

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestSuite(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Sample Suite")
}

var _ = Describe("the sample", func() {
	It("adds", func() {
		Expect(2 + 2).To(Equal(4))
	})
	It("sees its report directory", func() {
		Expect(os.Getenv("TESTRUN_REPORT_DIR")).NotTo(BeEmpty())
	})
	It("greets the cluster", func() {
		Expect("hello, world").To(Equal("hello, cluster"))
	})
	It("is skipped", func() {
		Skip("skipped on purpose: the summary counts it")
	})
})
