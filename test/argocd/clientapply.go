package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

// clientSideApply computes what `kubectl apply` (client-side, the default) does to a live
// Deployment: the three-way strategic merge patch between the last-applied configuration (the
// kubectl.kubernetes.io/last-applied-configuration annotation), the new configuration and the
// live object (k8s.io/kubectl pkg/cmd/apply, buildStrategicMergeFromBuiltins, --overwrite=true),
// then the API server's strategic merge of that patch into the live object. Prints the result.
func clientSideApply(args []string) error {
	fs := flag.NewFlagSet("client-side-apply", flag.ContinueOnError)
	lastApplied := fs.String("last-applied", "", "the last-applied configuration (YAML or JSON)")
	config := fs.String("config", "", "the configuration being applied")
	live := fs.String("live", "", "the live object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *lastApplied == "" || *config == "" || *live == "" {
		return errors.New("--last-applied, --config and --live are required")
	}
	var docs [3][]byte
	for i, f := range []string{*lastApplied, *config, *live} {
		y, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if docs[i], err = yaml.YAMLToJSON(y); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	meta, err := strategicpatch.NewPatchMetaFromStruct(&appsv1.Deployment{})
	if err != nil {
		return err
	}
	patch, err := strategicpatch.CreateThreeWayMergePatch(docs[0], docs[1], docs[2], meta, true)
	if err != nil {
		return err
	}
	out, err := strategicpatch.StrategicMergePatch(docs[2], patch, &appsv1.Deployment{})
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(out, '\n'))
	return err
}
