package runspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"

	"github.com/kubectl-testrun/kubectl-testrun/pkg/upload"
)

// PatchType is how a PodPatch changes the pod template, as kubectl run's --override-type says it.
type PatchType string

// The three kinds of patch kubectl knows.
const (
	// PatchStrategic is a strategic merge patch: lists of containers, volumes, env and mounts merge by name
	// (or mount path), so a patch adds a sidecar or a volume without repeating the plugin's own.
	PatchStrategic PatchType = "strategic"
	// PatchMerge is a JSON merge patch (RFC 7396): a list in the patch replaces the whole list.
	PatchMerge PatchType = "merge"
	// PatchJSON is a JSON patch (RFC 6902): a list of operations on paths.
	PatchJSON PatchType = "json"
)

// PatchTypes are the accepted values of --override-type and of a definition's podTemplatePatchType.
var PatchTypes = []PatchType{PatchStrategic, PatchMerge, PatchJSON}

// PodPatch is a patch of a run's pod template (its metadata and spec, the shape of a Pod without apiVersion
// and kind), applied after the plugin built it: the escape hatch for what no flag sets (hostNetwork, a
// sidecar, a volume, a securityContext, a priority or runtime class, an annotation).
type PodPatch struct {
	// Type is how the patch applies; "" means PatchStrategic.
	Type PatchType
	// Patch is the patch, as JSON.
	Patch []byte
	// Source names where the patch comes from in errors: "--overrides", or a definition file and line.
	Source string
}

// ParsePodPatch reads a patch given as JSON or YAML (a mapping, or for PatchJSON a list of operations) and
// checks that its shape suits its type. source names it in errors.
func ParsePodPatch(source string, typ PatchType, text []byte) (PodPatch, error) {
	p := PodPatch{Type: typ, Source: source}
	if typ == "" {
		p.Type = PatchStrategic
	}
	if !slices.Contains(PatchTypes, p.Type) {
		return p, fmt.Errorf("%s: patch type %q is not one of %s", source, typ, joinTypes())
	}
	data, err := yaml.YAMLToJSON(text)
	if err != nil {
		return p, fmt.Errorf("%s: the patch is neither JSON nor YAML: %w", source, err)
	}
	p.Patch = bytes.TrimSpace(data)
	if err := p.checkShape(); err != nil {
		return p, err
	}
	return p, nil
}

// checkShape checks that a JSON patch is a list and the others a mapping.
func (p PodPatch) checkShape() error {
	isList, isMap := bytes.HasPrefix(p.Patch, []byte("[")), bytes.HasPrefix(p.Patch, []byte("{"))
	switch {
	case p.Type == PatchJSON && !isList:
		return fmt.Errorf("%s: a json patch is a list of operations such as [{\"op\": \"add\", \"path\": \"/spec/hostNetwork\", \"value\": true}]", p.Source)
	case p.Type != PatchJSON && !isMap:
		return fmt.Errorf("%s: a %s patch is a mapping of the pod template such as {\"spec\": {\"hostNetwork\": true}}; a list of operations is a json patch", p.Source, p.Type)
	}
	return nil
}

func joinTypes() string {
	words := make([]string, len(PatchTypes))
	for i, t := range PatchTypes {
		words[i] = string(t)
	}
	return strings.Join(words, ", ")
}

// Job returns the Job of a run with its pod patches applied: BuildJob's Job, then each patch in order. It
// refuses a patch that does not apply, that makes the template something other than a pod template, or that
// breaks what the plugin needs of the pod (see checkInvariants), naming the patch's source.
func Job(s Spec) (*batchv1.Job, error) {
	job := BuildJob(s)
	if len(s.PodPatches) == 0 {
		return job, nil
	}
	built := job.Spec.Template.DeepCopy()
	for _, p := range s.PodPatches {
		patched, err := p.apply(job.Spec.Template)
		if err != nil {
			return nil, err
		}
		if problems := checkInvariants(s, built, patched); len(problems) > 0 {
			errs := make([]error, len(problems))
			for i, e := range problems {
				errs[i] = fmt.Errorf("%s: %w", p.Source, e)
			}
			return nil, errors.Join(errs...)
		}
		job.Spec.Template = *patched
	}
	return job, nil
}

// apply applies the patch to template and decodes the result strictly, so a misspelt field is an error.
func (p PodPatch) apply(template corev1.PodTemplateSpec) (*corev1.PodTemplateSpec, error) {
	original, err := json.Marshal(template)
	if err != nil {
		return nil, err
	}
	var patched []byte
	switch p.Type {
	case PatchJSON:
		ops, err := jsonpatch.DecodePatch(p.Patch)
		if err != nil {
			return nil, fmt.Errorf("%s: not a json patch: %w", p.Source, err)
		}
		patched, err = ops.Apply(original)
		if err != nil {
			return nil, fmt.Errorf("%s: the json patch does not apply to the pod template: %w: print the template with --dry-run=client -o yaml to see its paths", p.Source, err)
		}
	case PatchMerge:
		patched, err = jsonpatch.MergePatch(original, p.Patch)
		if err != nil {
			return nil, fmt.Errorf("%s: the merge patch does not apply: %w", p.Source, err)
		}
	default:
		patched, err = strategicpatch.StrategicMergePatch(original, p.Patch, corev1.PodTemplateSpec{})
		if err != nil {
			return nil, fmt.Errorf("%s: the strategic merge patch does not apply: %w", p.Source, err)
		}
	}
	var out corev1.PodTemplateSpec
	strict, err := sigsjson.UnmarshalStrict(patched, &out)
	if err != nil {
		return nil, fmt.Errorf("%s: the patched pod template is not a pod template: %w: fix the patch (it patches the template's metadata and spec, as in {\"spec\": {\"hostNetwork\": true}})", p.Source, err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("%s: the patched pod template is not a pod template: %w: fix the patch (it patches the template's metadata and spec, as in {\"spec\": {\"hostNetwork\": true}})", p.Source, errors.Join(strict...))
	}
	return &out, nil
}

// checkInvariants refuses a patched template that lost what the plugin relies on: the test container under
// its name with its reports mounted, the holder as built, the shared process namespace through which the
// holder sees the test end, the plugin's volumes, restartPolicy Never and the plugin's labels.
func checkInvariants(s Spec, built, patched *corev1.PodTemplateSpec) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	ps := &patched.Spec
	test := containerNamed(ps.Containers, TestContainer)
	if test == nil {
		add("the patch removes or renames the test container %q, whose exit code is the run's: keep it in spec.containers (with a strategic merge patch, name it to change it)", TestContainer)
	} else {
		for _, m := range reportMounts(s) {
			if !slices.Contains(test.VolumeMounts, m) {
				add("the patch removes the test container's mount of the reports volume %q at %q: leave it in place (change the directory with --report-dir)", m.Name, m.MountPath)
			}
		}
		if test.Image == "" {
			add("the patch leaves the test container without an image: give it one")
		}
	}
	wantHolder := containerNamed(built.Spec.Containers, HolderContainer)
	switch holder := containerNamed(ps.Containers, HolderContainer); {
	case holder == nil:
		add("the patch removes the holder container %q, which keeps the pod alive until its reports are fetched: leave it in spec.containers", HolderContainer)
	case !equality.Semantic.DeepEqual(holder, wantHolder):
		add("the patch changes the holder container %q, which the plugin needs as it builds it: leave it out of the patch (its image is --helper-image)", HolderContainer)
	}
	if slices.ContainsFunc(ps.InitContainers, func(c corev1.Container) bool { return c.Name == TestContainer || c.Name == HolderContainer }) {
		add("the patch adds an init container named %q or %q, names the plugin's containers have: rename it", TestContainer, HolderContainer)
	}
	if want := containerNamed(built.Spec.InitContainers, upload.ContainerName); want != nil {
		if got := containerNamed(ps.InitContainers, upload.ContainerName); got == nil || !equality.Semantic.DeepEqual(got, want) {
			add("the patch removes or changes the init container %q, which receives --upload before the test starts: leave it out of the patch", upload.ContainerName)
		}
	} else if containerNamed(ps.InitContainers, upload.ContainerName) != nil {
		add("the patch adds an init container named %q, the name of the plugin's upload container: rename it", upload.ContainerName)
	}
	if test != nil {
		for _, m := range uploadMounts(s) {
			if !slices.Contains(test.VolumeMounts, m) {
				add("the patch removes the test container's mount of the upload %q at %q: leave it in place (change the path with --upload LOCAL:POD_PATH)", m.SubPath, m.MountPath)
			}
		}
	}
	if ps.ShareProcessNamespace == nil || !*ps.ShareProcessNamespace {
		add("the patch turns off shareProcessNamespace, through which the holder sees the test end: leave it true")
	}
	if ps.RestartPolicy != corev1.RestartPolicyNever {
		add("the patch sets restartPolicy %q: a run is one attempt, its restartPolicy stays Never", ps.RestartPolicy)
	}
	volumes := []string{ReportsVolume, ControlVolume}
	if len(s.Uploads) > 0 {
		volumes = append(volumes, UploadVolume)
	}
	for _, name := range volumes {
		i := slices.IndexFunc(ps.Volumes, func(v corev1.Volume) bool { return v.Name == name })
		if i < 0 || ps.Volumes[i].EmptyDir == nil {
			add("the patch removes or changes the volume %q the plugin's containers share: leave it an emptyDir", name)
		}
	}
	for _, k := range []string{LabelManagedBy, LabelRun} {
		if patched.Labels[k] != built.Labels[k] {
			add("the patch changes the label %q by which kubectl-testrun finds the run: leave it out of the patch", k)
		}
	}
	return errs
}

func containerNamed(cs []corev1.Container, name string) *corev1.Container {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}
