package definition

import (
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubectl-testrun/kubectl-testrun/internal/runspec"
)

// KindJob is the kind of a batch/v1 Job manifest, which `run -f` accepts as well as a definition.
const KindJob = "Job"

// ReadJob makes a run of a batch/v1 Job manifest: a definition in memory whose values are the manifest's.
//
// The Job's single container becomes the test container: its image, command, args, workingDir, literal env
// and resources become the definition's (so flags override them as they override a definition's); the rest
// of it (ports, volumeMounts, securityContext, env from Secrets, probes…) and the rest of the pod template
// (its labels and annotations, volumes, init and sidecar containers, hostNetwork, affinity, service account,
// priority and runtime class…) become a strategic merge patch of the run's pod, applied after the plugin built
// it and before --overrides. The Job's name is the run's base name, its namespace the run's unless -n says
// otherwise, its labels the run's labels, its activeDeadlineSeconds the run's timeout. The plugin's
// backoffLimit (0), ttlSecondsAfterFinished and restartPolicy (Never) replace the manifest's. What would make
// the run something other than one pod run once is refused, at its line: several containers, completions or
// parallelism above 1, Indexed completion, pod failure and success policies, a selector, suspend, a
// restartPolicy other than Never, and the Job's own annotations.
func ReadJob(file string, data []byte) (*Definition, error) {
	root, err := parseNode(file, data)
	if err != nil {
		return nil, err
	}
	raw, err := sigsyaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("job manifest %q: %w: fix the YAML syntax", file, err)
	}
	var job batchv1.Job
	strict, err := sigsjson.UnmarshalStrict(raw, &job)
	if err != nil {
		return nil, fmt.Errorf("job manifest %q: %w: fix the value", file, err)
	}
	if len(strict) > 0 {
		msg := strict[0].Error()
		if m := unknownPatchField.FindStringSubmatch(msg); m != nil {
			if line, ok := patchKeyLine(root, nil, m[1]); ok {
				return nil, jobError(file, line, "%s: unknown field of a batch/v1 Job: fix or remove it", m[1])
			}
		}
		return nil, fmt.Errorf("job manifest %q: %s: fix or remove it", file, msg)
	}
	if err := refuseJob(file, root, &job); err != nil {
		return nil, err
	}
	return jobDefinition(file, root, &job)
}

// jobError is an error at a line of a Job manifest.
func jobError(file string, line int, format string, args ...any) error {
	return fmt.Errorf("job manifest %q: line %d: %s", file, line, fmt.Sprintf(format, args...))
}

// refuseJob refuses what a run cannot keep of a Job: each problem at its line.
func refuseJob(file string, root *yaml.Node, job *batchv1.Job) error {
	var ps problems
	if job.APIVersion != batchv1.SchemeGroupVersion.String() {
		ps.add([]any{"apiVersion"}, "%q is not supported: a Job manifest is apiVersion: batch/v1", job.APIVersion)
	}
	if len(job.Annotations) > 0 {
		ps.add([]any{"metadata", "annotations"}, "the Job's own annotations are not kept: move them to spec.template.metadata.annotations (the pod's) or remove them")
	}
	s := job.Spec
	one := "a run is one pod run once"
	if s.Parallelism != nil && *s.Parallelism > 1 {
		ps.add([]any{"spec", "parallelism"}, "%d: %s: remove it or set 1", *s.Parallelism, one)
	}
	if s.Completions != nil && *s.Completions > 1 {
		ps.add([]any{"spec", "completions"}, "%d: %s: remove it or set 1", *s.Completions, one)
	}
	if s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion {
		ps.add([]any{"spec", "completionMode"}, "Indexed: %s: remove it", one)
	}
	for _, f := range []struct {
		set  bool
		name string
	}{
		{s.BackoffLimitPerIndex != nil, "backoffLimitPerIndex"},
		{s.MaxFailedIndexes != nil, "maxFailedIndexes"},
		{s.PodFailurePolicy != nil, "podFailurePolicy"},
		{s.SuccessPolicy != nil, "successPolicy"},
		{s.Selector != nil, "selector"},
		{s.ManualSelector != nil && *s.ManualSelector, "manualSelector"},
		{s.Suspend != nil && *s.Suspend, "suspend"},
	} {
		if f.set {
			ps.add([]any{"spec", f.name}, "%s: remove it (the plugin creates, follows and deletes the Job itself)", one)
		}
	}
	pod := s.Template.Spec
	switch pod.RestartPolicy {
	case "", corev1.RestartPolicyNever:
	default:
		ps.add([]any{"spec", "template", "spec", "restartPolicy"}, "%s: %s, so restartPolicy is Never: set it", pod.RestartPolicy, one)
	}
	switch n := len(pod.Containers); {
	case n == 0:
		ps.add([]any{"spec", "template", "spec", "containers"}, "no container: give the test's container")
	case n > 1:
		ps.add([]any{"spec", "template", "spec", "containers"}, "%d containers: the run's test is one container; make the others sidecars (initContainers with restartPolicy: Always), which the run keeps", n)
	}
	for i, v := range pod.Volumes {
		if v.Name == runspec.ReportsVolume || v.Name == runspec.ControlVolume {
			ps.add([]any{"spec", "template", "spec", "volumes", i, "name"}, "%q is the name of a volume of the plugin: rename it", v.Name)
		}
	}
	return locateIn(file, root, ps)
}

// locateIn is locate for a Job manifest.
func locateIn(file string, root *yaml.Node, ps problems) error {
	var msgs []string
	for _, p := range ps {
		msgs = append(msgs, jobError(file, lineOf(root, p.path), "%s: %s", pathString(p.path), p.msg).Error())
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\n"))
}

// jobDefinition turns a Job that refuseJob accepted into a definition with its pod patch.
func jobDefinition(file string, root *yaml.Node, job *batchv1.Job) (*Definition, error) {
	name := job.Name
	if name == "" {
		name = strings.TrimSuffix(job.GenerateName, "-")
	}
	if err := runspec.ValidateRunName(name); err != nil {
		return nil, jobError(file, lineOf(root, []any{"metadata", "name"}), "metadata.name: %v", err)
	}
	d := &Definition{
		APIVersion: APIVersion,
		Kind:       KindDefinition,
		Metadata:   Metadata{Name: name},
		Source:     Source{Origin: OriginFile, File: file},
		Namespace:  job.Namespace,
	}
	var ps problems
	checkLabels(&ps, []any{"metadata", "labels"}, job.Labels, true)
	if err := locateIn(file, root, ps); err != nil {
		return nil, err
	}
	template := job.Spec.Template.DeepCopy()
	c := template.Spec.Containers[0]
	d.Spec = Spec{Image: c.Image, Command: c.Command, Args: c.Args, WorkingDir: c.WorkingDir, Labels: job.Labels}
	if s := job.Spec.ActiveDeadlineSeconds; s != nil && *s > 0 {
		d.Spec.Timeout = fmt.Sprintf("%ds", *s)
	}
	var kept []corev1.EnvVar
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			d.Spec.Env = append(d.Spec.Env, EnvVar{Name: e.Name, Value: e.Value})
			continue
		}
		kept = append(kept, e)
	}
	d.Spec.Resources = Resources{Requests: quantities(c.Resources.Requests), Limits: quantities(c.Resources.Limits)}
	c.Name, c.Image, c.Command, c.Args, c.WorkingDir, c.Env = runspec.TestContainer, "", nil, nil, "", kept
	c.Resources.Requests, c.Resources.Limits = nil, nil
	template.Spec.Containers = []corev1.Container{c}
	template.Spec.RestartPolicy = ""
	patch, err := json.Marshal(template)
	if err != nil {
		return nil, fmt.Errorf("job manifest %q: %w", file, err)
	}
	p := runspec.PodPatch{Type: runspec.PatchStrategic, Patch: patch, Source: fmt.Sprintf("job manifest %q: spec.template", file)}
	sample := runspec.Spec{Name: sampleRunName, Image: "image", PodPatches: []runspec.PodPatch{p}}
	if _, err := runspec.Job(sample); err != nil {
		return nil, err
	}
	d.PodPatch = &p
	return d, nil
}

// quantities writes a resource list the way a definition holds it.
func quantities(list corev1.ResourceList) map[string]string {
	if len(list) == 0 {
		return nil
	}
	out := make(map[string]string, len(list))
	for name, q := range list {
		out[string(name)] = q.String()
	}
	return out
}
