// Package reports brings a run's reports home: it adds the fetch container while the test runs, copies and
// verifies the report volume when the test ended, summarises the JUnit files, releases the holder with a
// record of what was fetched, and implements the fetch verb's engine.
package reports
