package extract

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// generate streams an archive with one file of size bytes and a few small
// reports through a pipe, so the archive itself never sits in memory.
func generate(tb testing.TB, size int64) io.Reader {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeArchive(pw, size)) }()
	tb.Cleanup(func() { pr.Close() }) // unblocks the writer if Extract stopped early
	return pr
}

func writeArchive(w io.Writer, size int64) error {
	tw := tar.NewWriter(w)
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = byte(i*7 + i>>8)
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "reports/", Mode: 0o755}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "reports/big.bin", Mode: 0o644, Size: size}); err != nil {
		return err
	}
	for left := size; left > 0; {
		n := min(left, int64(len(chunk)))
		if _, err := tw.Write(chunk[:n]); err != nil {
			return err
		}
		left -= n
	}
	for i := range 16 {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("reports/small-%02d.xml", i), Mode: 0o644, Size: 1024}); err != nil {
			return err
		}
		if _, err := tw.Write(chunk[:1024]); err != nil {
			return err
		}
	}
	return tw.Close()
}

// sampleHeap records the largest HeapInuse seen until the returned stop
// function is called. ReadMemStats before and after alone would miss a peak
// that a GC cleared in between.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		*peak = max(*peak, m.HeapInuse)
	}
	sample()
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				sample()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		sample()
	}
}

// BenchmarkExtract extracts generated archives of two sizes in the same run;
// peak-heap-x-16MiB is the 256 MiB run's peak heap over the 16 MiB run's,
// about 1 when memory does not grow with the archive. The timing includes
// generating the stream, as a real fetch includes receiving it.
func BenchmarkExtract(b *testing.B) {
	const base = 16 << 20
	peaks := map[int64]float64{}
	for _, size := range []int64{base, 256 << 20} {
		b.Run(fmt.Sprintf("size=%dMiB", size>>20), func(b *testing.B) {
			b.SetBytes(size)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var peak uint64
			stop := sampleHeap(&peak)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				dest := filepath.Join(b.TempDir(), "dest")
				r := generate(b, size)
				b.StartTimer()
				if _, err := Extract(r, dest, DefaultLimits()); err != nil {
					b.Fatalf("Extract() error = %v", err)
				}
				b.StopTimer()
				if err := os.RemoveAll(dest); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.StopTimer()
			stop()
			runtime.ReadMemStats(&after)

			peakMiB := float64(peak) / (1 << 20)
			peaks[size] = peakMiB
			b.ReportMetric(peakMiB, "peak-heap-MiB")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "alloc-MiB/op")
			if size != base && peaks[base] > 0 {
				b.ReportMetric(peakMiB/peaks[base], "peak-heap-x-16MiB")
			}
		})
	}
}
