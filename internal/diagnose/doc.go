// Package diagnose gathers what explains a failed run (describe output of its Job and pod, events, previous
// logs, the system under test) within a time budget, and saves it next to the reports.
package diagnose
