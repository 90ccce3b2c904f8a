// Package plugins carries the shipped test definitions in the binary: one YAML file per common test
// framework (go test, pytest, Jest, Ginkgo, shell scripts) and one for Kubernetes' own e2e.test, each a
// TestDefinition as documented in docs/definitions.md. `kubectl testrun run --plugin NAME` runs one,
// `kubectl testrun plugins` lists them.
package plugins

import (
	"embed"
	"io/fs"
)

//go:embed *.yaml
var files embed.FS

// FS holds the shipped definitions, one *.yaml file each, at its top level.
var FS fs.FS = files
