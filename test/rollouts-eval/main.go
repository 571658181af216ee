// Command rollouts-eval judges modelpin's rendered AnalysisTemplate with Argo Rollouts' own code,
// so the tests never re-implement how Argo Rollouts reads a template, substitutes its args,
// queries Prometheus or evaluates successCondition/failureCondition.
//
// stdin: JSON Lines, one case per line:
//
//	{"mode": "resolve"|"evaluate"|"run", "template": <AnalysisTemplate as rendered>, "args": [{"name": ..., "value": ...}],
//	 "results": {"<metric>": ["0.1"]}}   // evaluate only; "NaN", "+Inf" allowed
//
// stdout: one JSON line per case, {"metrics": [{"metric", "phase", "value", "message", ...}]} or {"error": "..."}.
//
// The steps are the controller's: analysisutil.NewAnalysisRunFromTemplates merges the Rollout's
// args into the template's (as the rollout controller does), ValidateMetrics checks the metrics,
// ResolveMetricArgs substitutes {{args.*}}. "resolve" stops there (the test runs the queries
// itself); "run" hands each metric to the Prometheus provider (query + vector → []float64 +
// evaluate.EvaluateResult), exactly as an AnalysisRun measurement does; "evaluate" calls
// evaluate.EvaluateResult on the given results.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/argoproj/argo-rollouts/metricproviders/prometheus"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	analysisutil "github.com/argoproj/argo-rollouts/utils/analysis"
	"github.com/argoproj/argo-rollouts/utils/evaluate"
	log "github.com/sirupsen/logrus"
)

type input struct {
	Mode     string              `json:"mode"`
	Template json.RawMessage     `json:"template"`
	Args     []v1alpha1.Argument `json:"args"`
	Results  map[string][]string `json:"results"`
}

type verdict struct {
	Metric           string `json:"metric"`
	Phase            string `json:"phase"`
	Value            string `json:"value,omitempty"`
	Message          string `json:"message,omitempty"`
	Query            string `json:"query,omitempty"`
	SuccessCondition string `json:"successCondition,omitempty"`
	FailureCondition string `json:"failureCondition,omitempty"`
}

type output struct {
	Metrics []verdict `json:"metrics,omitempty"`
	Error   string    `json:"error,omitempty"`
}

func main() {
	logger := log.New()
	logger.SetOutput(os.Stderr)
	logger.SetLevel(log.WarnLevel)
	entry := log.NewEntry(logger)

	in := bufio.NewReader(os.Stdin)
	enc := json.NewEncoder(os.Stdout)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			out, cerr := judge(line, entry)
			if cerr != nil {
				out = output{Error: cerr.Error()}
			}
			if err := enc.Encode(out); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func judge(line []byte, entry *log.Entry) (output, error) {
	var c input
	if err := json.Unmarshal(line, &c); err != nil {
		return output{}, fmt.Errorf("case: %w", err)
	}
	// Strict: a field Argo Rollouts does not know (a typo in the renderer) is an error, not ignored.
	var tmpl v1alpha1.AnalysisTemplate
	dec := json.NewDecoder(bytes.NewReader(c.Template))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tmpl); err != nil {
		return output{}, fmt.Errorf("template: %w", err)
	}
	run, err := analysisutil.NewAnalysisRunFromTemplates([]*v1alpha1.AnalysisTemplate{&tmpl}, nil, c.Args, nil, nil, nil, nil, "canary", "", tmpl.Namespace)
	if err != nil {
		return output{}, fmt.Errorf("analysis run: %w", err)
	}
	if err := analysisutil.ValidateMetrics(run.Spec.Metrics); err != nil {
		return output{}, fmt.Errorf("metrics: %w", err)
	}
	var out output
	for _, m := range run.Spec.Metrics {
		metric, err := analysisutil.ResolveMetricArgs(m, run.Spec.Args)
		if err != nil {
			return output{}, fmt.Errorf("metric %q: %w", m.Name, err)
		}
		v := verdict{Metric: metric.Name, SuccessCondition: metric.SuccessCondition, FailureCondition: metric.FailureCondition}
		if metric.Provider.Prometheus != nil {
			v.Query = metric.Provider.Prometheus.Query
		}
		switch c.Mode {
		case "resolve":
		case "run":
			if metric.Provider.Prometheus == nil {
				return output{}, fmt.Errorf("metric %q has no prometheus provider", metric.Name)
			}
			api, err := prometheus.NewPrometheusAPI(*metric)
			if err != nil {
				return output{}, fmt.Errorf("metric %q: %w", metric.Name, err)
			}
			p, err := prometheus.NewPrometheusProvider(api, *entry, *metric)
			if err != nil {
				return output{}, fmt.Errorf("metric %q: %w", metric.Name, err)
			}
			m := p.Run(run, *metric)
			v.Phase, v.Value, v.Message = string(m.Phase), m.Value, m.Message
		case "evaluate":
			raw, ok := c.Results[metric.Name]
			if !ok {
				continue
			}
			result := make([]float64, 0, len(raw))
			for _, s := range raw {
				f, err := strconv.ParseFloat(s, 64)
				if err != nil {
					return output{}, fmt.Errorf("metric %q: result %q: %w", metric.Name, s, err)
				}
				result = append(result, f)
			}
			phase, err := evaluate.EvaluateResult(result, *metric, *entry)
			v.Phase = string(phase)
			if err != nil {
				v.Message = err.Error()
			}
		default:
			return output{}, fmt.Errorf("mode %q: want resolve, evaluate or run", c.Mode)
		}
		out.Metrics = append(out.Metrics, v)
	}
	return out, nil
}
