// Package outcome decides, from the current Job and pod alone, what state a run is in and which exit code it
// ends with (Classify), and holds the result document (Result) that -o json|yaml prints. It is pure: no
// client, no clock of its own, so every classification is table-tested.
package outcome
