// Package plan decides what one run will be: a definition (or none), the values the user gave on the command
// line, the repository's global configuration and the CI's environment become the run's runspec.Spec. The
// precedence rules live here, in one pure function (Plan) that is table-tested without a command line: a
// value the user gave wins over the definition's, and a value not given (a nil field of Flags) leaves the
// definition's standing. It also parses the flag syntax of lists and quantities (Env, ResourceList, ...).
package plan
