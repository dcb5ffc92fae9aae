package gate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseMetrics reads the file a step writes to $FERRY_METRICS. It takes one of two forms:
//
//	{"metrics": [{"name": "latency_p95_ms", "value": 41.2, "unit": "ms", "direction": "lower_is_better"}]}
//	{"latency_p95_ms": 41.2, "pass_rate": 0.97}
//
// The list form keeps the file's order; the flat form, which has no order worth keeping, is sorted by name.
// Empty or blank data is no metrics and no error. Names must be unique and valid (see ValidName), units short
// and printable, values finite numbers. An error never quotes a name that is not valid: a step may print
// anything there, a secret included, and the error becomes the step's reason, which every token can read.
func ParseMetrics(data []byte) ([]Metric, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	// Unmarshal checks the whole input first, so its syntax errors carry a true offset.
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		return nil, fmt.Errorf("metrics: %w", syntaxError(data, err))
	}
	fields, err := objectFields(data, "name")
	if errors.Is(err, errNotObject) {
		return nil, errors.New(`metrics: want a JSON object: {"metrics": [{"name": ..., "value": ...}]} or {"name": value, ...}`)
	} else if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	// A flat file may hold a metric called "metrics", but its value is a number, never a list.
	for _, f := range fields {
		if f.key == "metrics" && bytes.HasPrefix(f.raw, []byte("[")) {
			return parseList(fields)
		}
	}
	ms := make([]Metric, 0, len(fields))
	for i, f := range fields {
		if err := checkName(f.key); err != nil {
			return nil, fmt.Errorf("metrics: metric %d: %w", i+1, err)
		}
		v, err := number(f.raw)
		if err != nil {
			return nil, fmt.Errorf("metrics: %q %w", f.key, err)
		}
		ms = append(ms, Metric{Name: f.key, Value: v})
	}
	slices.SortFunc(ms, func(a, b Metric) int { return strings.Compare(a.Name, b.Name) })
	return ms, nil
}

func parseList(fields []field) ([]Metric, error) {
	var items []json.RawMessage
	for _, f := range fields {
		if f.key != "metrics" {
			return nil, fmt.Errorf("metrics: unknown field %s beside the \"metrics\" list", quote(f.key))
		}
		if err := json.Unmarshal(f.raw, &items); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	ms := make([]Metric, 0, len(items))
	seen := make(map[string]int, len(items))
	for i, item := range items {
		m, err := parseItem(item)
		if err != nil {
			return nil, fmt.Errorf("metrics[%d]: %w", i, err)
		}
		if j, dup := seen[m.Name]; dup {
			return nil, fmt.Errorf("metrics[%d]: duplicate name %s (also metrics[%d])", i, quote(m.Name), j)
		}
		seen[m.Name] = i
		ms = append(ms, m)
	}
	return ms, nil
}

func parseItem(raw []byte) (Metric, error) {
	fields, err := objectFields(raw, "field")
	if errors.Is(err, errNotObject) {
		return Metric{}, errors.New(`want an object: {"name": ..., "value": ...}`)
	} else if err != nil {
		return Metric{}, err
	}
	var m Metric
	var hasValue bool
	for _, f := range fields {
		switch f.key {
		case "name":
			if json.Unmarshal(f.raw, &m.Name) != nil {
				return m, errors.New("name is not a string")
			}
		case "value":
			if m.Value, err = number(f.raw); err != nil {
				return m, fmt.Errorf("value %w", err)
			}
			hasValue = true
		case "unit":
			if json.Unmarshal(f.raw, &m.Unit) != nil {
				return m, errors.New("unit is not a string")
			}
			if !validUnit(m.Unit) {
				return m, fmt.Errorf("unit is not valid: want at most %d printable characters (the unit is not shown: it may hold a secret)", maxUnitLen)
			}
		case "direction":
			var s string
			if json.Unmarshal(f.raw, &s) != nil {
				return m, errors.New("direction is not a string")
			}
			if m.Direction, err = ParseDirection(s); err != nil {
				return m, err
			}
		default:
			return m, fmt.Errorf("unknown field %s (want name, value, unit, direction)", quote(f.key))
		}
	}
	if m.Name == "" {
		return m, errors.New("name is missing")
	}
	if err := checkName(m.Name); err != nil {
		return m, err
	}
	if !hasValue {
		return m, errors.New("value is missing")
	}
	return m, nil
}

// namePattern is deliberately narrow: names appear in YAML gates, in the verdict table, in the API and the
// dashboard, to every token that can read the project.
var namePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$`)

// ValidName reports whether name can name a metric: a letter or _, then up to 127 letters, digits, _ . : or -.
func ValidName(name string) bool { return namePattern.MatchString(name) }

func checkName(name string) error {
	if name == "" {
		return errors.New("a metric name is empty")
	}
	if !ValidName(name) {
		return errors.New("name is not valid: want a letter or _, then up to 127 letters, digits, _ . : or - (the name is not shown: it may hold a secret)")
	}
	return nil
}

// quote quotes a name for an error message when it is a valid metric name, and hides it otherwise.
func quote(name string) string {
	if ValidName(name) {
		return strconv.Quote(name)
	}
	return "(not shown: not a valid name)"
}

// maxUnitLen bounds a metric's unit ("ms", "req/s", "%"), counted in characters.
const maxUnitLen = 16

func validUnit(unit string) bool {
	return utf8.RuneCountInString(unit) <= maxUnitLen && strings.IndexFunc(unit, func(r rune) bool {
		return !unicode.IsPrint(r) || r == utf8.RuneError
	}) < 0
}

// number reads a JSON number; the error completes a sentence that starts with what was read.
func number(raw []byte) (float64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, errors.New("is not a number")
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("is out of range (%s)", raw)
	}
	return v, nil
}

type field struct {
	key string
	raw json.RawMessage
}

var errNotObject = errors.New("not a JSON object")

// objectFields splits valid JSON holding an object into its fields in file order. Unlike decoding into a map,
// it sees a repeated key, which would otherwise silently keep the last value.
func objectFields(data []byte, keyNoun string) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil {
		return nil, err
	} else if tok != json.Delim('{') {
		return nil, errNotObject
	}
	var fields []field
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string) // inside an object, the decoder only yields string keys
		if seen[key] {
			return nil, fmt.Errorf("duplicate %s %s", keyNoun, quote(key))
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		fields = append(fields, field{key, raw})
	}
	return fields, nil
}

// syntaxError says where in the file the JSON broke, as line and column.
func syntaxError(data []byte, err error) error {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err
	}
	before := data[:min(max(se.Offset-1, 0), int64(len(data)))]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Errorf("line %d, col %d: %s", line, col, se)
}
