package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
)

var (
	// ErrNoData is returned by Query when the query matched no series: nothing is known yet, so the check
	// is inconclusive rather than failed.
	ErrNoData = errors.New("query returned no data")
	// ErrUnavailable wraps the errors of a Prometheus server that did not answer the query (unreachable,
	// timed out, overloaded): they say nothing of the release, so the check is inconclusive. Other errors
	// (a bad query, several series) fail it, since it can never pass as written.
	ErrUnavailable = errors.New("prometheus unavailable")
)

// Prometheus answers the instant queries of prometheus checks over the Prometheus HTTP API.
type Prometheus struct {
	// Client sends the queries; nil means one that reaches the loopback addresses only (HostGuard).
	Client *http.Client
	// Timeout bounds one query; 5s when zero.
	Timeout time.Duration
}

// prometheusErrorTypes are the errorType values of the Prometheus HTTP API.
var prometheusErrorTypes = []string{"timeout", "canceled", "execution", "bad_data", "internal", "unavailable", "not_found", "not_acceptable"}

// defaultGuardClient reaches the loopback addresses only.
var defaultGuardClient = (*HostGuard)(nil).Client()

// maxAnswer bounds the answer read: a query meant to return one number has a small one.
const maxAnswer = 4 << 20

// Query runs query at the time of the call against the Prometheus server at base (like
// http://127.0.0.1:9090, or a prefix Prometheus is served under) and returns its one number: a scalar, or a
// vector of exactly one sample. A vector of no samples is ErrNoData; NaN is returned as NaN.
func (p *Prometheus) Query(ctx context.Context, base, query string) (float64, error) {
	return p.QueryAt(ctx, base, query, time.Time{})
}

// QueryAt is Query evaluated at instant at (the time of the call when zero): two queries at the same instant
// measure the same window.
func (p *Prometheus) QueryAt(ctx context.Context, base, query string, at time.Time) (float64, error) {
	v, err := p.query(ctx, base, query, at)
	if err != nil {
		return v, fmt.Errorf("prometheus %s: %w", base, err)
	}
	return v, nil
}

func (p *Prometheus) query(ctx context.Context, base, query string, at time.Time) (float64, error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	params := url.Values{"query": {query}}
	if !at.IsZero() {
		params.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64))
	}
	u := strings.TrimSuffix(base, "/") + "/api/v1/query?" + params.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	client := p.Client
	if client == nil {
		client = defaultGuardClient
	}
	resp, err := client.Do(req)
	if errors.Is(err, ErrHostNotAllowed) {
		return 0, unwrapURL(err)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, unwrapURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, fmt.Errorf("%w: read answer: %w", ErrUnavailable, err)
	}
	var a answer
	if err := json.Unmarshal(data, &a); err != nil || a.Status == "" {
		// Status and length only: the answer may come from anything the URL reaches, and a reason is read by
		// every token.
		err := fmt.Errorf("HTTP %d, not a Prometheus API answer (%d bytes)", resp.StatusCode, len(data))
		if resp.StatusCode >= 500 {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return 0, err
	}
	if a.Status != "success" {
		// The error type comes from Prometheus's fixed list; its message is text of the answer, not repeated.
		kind := a.ErrorType
		if !slices.Contains(prometheusErrorTypes, kind) {
			kind = "error"
		}
		err := fmt.Errorf("HTTP %d, Prometheus %s (%d bytes; see the query in Prometheus for the message)", resp.StatusCode, kind, len(data))
		switch a.ErrorType {
		case "timeout", "canceled", "unavailable", "internal":
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return 0, err
	}
	return a.Data.number()
}

// unwrapURL drops the method and URL that an *url.Error repeats: Query's error already names the server.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// answer is the envelope of every Prometheus API answer.
type answer struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      result `json:"data"`
}

type result struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// number is the one number of a scalar or of a vector of one sample.
func (r result) number() (float64, error) {
	switch r.ResultType {
	case "scalar":
		return sampleValue(r.Result)
	case "vector":
		var samples []struct {
			Metric map[string]string `json:"metric"`
			Value  json.RawMessage   `json:"value"`
		}
		if err := json.Unmarshal(r.Result, &samples); err != nil {
			return 0, fmt.Errorf("read vector: %w", err)
		}
		switch len(samples) {
		case 0:
			return 0, ErrNoData
		case 1:
			return sampleValue(samples[0].Value)
		}
		var series []string
		for i, s := range samples {
			if i == 3 {
				series = append(series, "...")
				break
			}
			series = append(series, labels(s.Metric))
		}
		return 0, fmt.Errorf("query returned %d series (%s), not one number; aggregate them, like sum(...)",
			len(samples), strings.Join(series, ", "))
	case "matrix":
		return 0, errors.New("query returned a range vector, not one number; " +
			"write an instant query, like rate(x[1m]) rather than x[1m]")
	case "":
		return 0, errors.New("answer has no result type")
	}
	return 0, fmt.Errorf("query returned a %s, not a number", r.ResultType)
}

// sampleValue reads [<unix time>, "<value>"], the shape of a scalar and of a vector's sample.
func sampleValue(raw json.RawMessage) (float64, error) {
	var pair []json.RawMessage
	var s string
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 || json.Unmarshal(pair[1], &s) != nil {
		return 0, errors.New(`read sample: want [time, "value"]`)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("read sample value: not a number (%d bytes)", len(s))
	}
	return v, nil
}

// labels writes a series' labels as PromQL does: {job="api",path="/a"}.
func labels(m map[string]string) string {
	name := m["__name__"]
	var parts []string
	for k, v := range m {
		if k != "__name__" {
			parts = append(parts, k+"="+strconv.Quote(v))
		}
	}
	slices.Sort(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

// EvaluatePrometheus judges the answer to c's query: value and err are what Query returned. No data, NaN and
// an unavailable server are inconclusive; any other error fails; bounds are inclusive.
func EvaluatePrometheus(c pipeline.PrometheusCheck, value float64, err error) Result {
	b := bounds(plain, c.Min, c.Max, nil)
	r := Result{Check: "prometheus " + clip(c.Query, 80) + " " + b, Verdict: Pass, Bound: b}
	switch {
	case errors.Is(err, ErrNoData) || errors.Is(err, ErrUnavailable):
		r.Verdict, r.Reason = Inconclusive, err.Error()
		return r
	case err != nil:
		r.Verdict, r.Reason = Fail, err.Error()
		return r
	case math.IsNaN(value):
		r.Verdict, r.Reason, r.Value = Inconclusive, "query returned NaN", "NaN"
		return r
	}
	r.Value = plain.value(value, c.Min, c.Max)
	switch {
	case c.Min != nil && above(*c.Min, value):
		r.Verdict, r.Reason = Fail, fmt.Sprintf("%s < min %s", r.Value, plain.format(*c.Min, boundDigits))
	case c.Max != nil && above(value, *c.Max):
		r.Verdict, r.Reason = Fail, fmt.Sprintf("%s > max %s", r.Value, plain.format(*c.Max, boundDigits))
	}
	return r
}
