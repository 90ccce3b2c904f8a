package junit

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// Part is the JUnit reports of one run, to be merged under its name.
type Part struct {
	// Name prefixes the name of each of the part's suites ("api" makes suite "login" "api/login").
	Name string
	// Dir is the report directory, and Files the reports in it, as Find returns them.
	Dir   string
	Files []string
}

// Merge writes one JUnit document, a <testsuites> holding every top-level <testsuite> of every part's
// reports, each suite's name prefixed with its part's name, so that a CI system shows the reports of several
// runs (the steps of a flow) as one. The suites are copied element by element through an XML encoder, so
// what a test wrote cannot break the document; each report is read within the limit Summarize uses.
func Merge(w io.Writer, parts []Part) error {
	enc := xml.NewEncoder(w)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	root := xml.StartElement{Name: xml.Name{Local: "testsuites"}}
	if err := enc.EncodeToken(root); err != nil {
		return err
	}
	for _, p := range parts {
		r, err := os.OpenRoot(p.Dir)
		if err != nil {
			return fmt.Errorf("opening report directory %q: %w", p.Dir, err)
		}
		for _, name := range p.Files {
			data, err := readReport(r, name, maxReportBytes)
			if err == nil {
				err = copySuites(enc, data, p.Name)
			}
			if err != nil {
				_ = r.Close()
				return fmt.Errorf("merging junit report %q: %w", path.Join(p.Name, name), err)
			}
		}
		_ = r.Close()
	}
	if err := enc.EncodeToken(root.End()); err != nil {
		return err
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// copySuites copies the top-level <testsuite> elements of the report data (its root, or the children of a
// <testsuites> root) to enc, their names prefixed with prefix and "/".
func copySuites(enc *xml.Encoder, data []byte, prefix string) error {
	dec := xml.NewDecoder(strings.NewReader(string(data)))
	depth, copying := 0, 0 // copying is the depth of the suite being copied, 0 for none
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			t = plain(t)
			if copying == 0 && t.Name.Local == "testsuite" && (depth == 1 || depth == 2) {
				copying = depth
				t = renamed(t, prefix)
			}
			if copying > 0 {
				if err := enc.EncodeToken(t); err != nil {
					return err
				}
			}
		case xml.EndElement:
			if copying > 0 {
				if err := enc.EncodeToken(xml.EndElement{Name: xml.Name{Local: t.Name.Local}}); err != nil {
					return err
				}
			}
			if depth == copying {
				copying = 0
			}
			depth--
		case xml.CharData:
			if copying > 0 {
				if err := enc.EncodeToken(t.Copy()); err != nil {
					return err
				}
			}
		}
	}
}

// plain drops namespaces, which JUnit reports do not use and which the encoder would rename.
func plain(t xml.StartElement) xml.StartElement {
	out := xml.StartElement{Name: xml.Name{Local: t.Name.Local}}
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local != "xmlns" {
			out.Attr = append(out.Attr, xml.Attr{Name: xml.Name{Local: a.Name.Local}, Value: a.Value})
		}
	}
	return out
}

// renamed prefixes the suite's name attribute (adding one when it has none).
func renamed(t xml.StartElement, prefix string) xml.StartElement {
	for i, a := range t.Attr {
		if a.Name.Local == "name" {
			t.Attr[i].Value = prefix + "/" + a.Value
			return t
		}
	}
	t.Attr = append(t.Attr, xml.Attr{Name: xml.Name{Local: "name"}, Value: prefix})
	return t
}
