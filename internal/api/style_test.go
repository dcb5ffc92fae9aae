package api

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Every JSON ferry writes (the API's answers, the bodies it reads, every `--json` of the CLI, which prints
// these types) has one key style: snake_case keys, and durations as numbers of milliseconds named *_ms
// (docs/api.md). This test walks, by reflection, every type the API's client sends or receives, and fails on
// a field without a snake_case json tag or a time.Duration field (which encoding/json writes in nanoseconds).

// notOnTheWire are the package's exported structs that are never JSON, and why.
var notOnTheWire = map[string]string{
	"Client": "the API's client",
	"Error":  "an error answer as a Go error; its body is ErrorBody",
	"EnvKey": "names an environment in Go code; the JSON has project and env keys",
}

// answeredElsewhere are the views no method of Client sends or returns as such: answers only the server
// writes, JSON lines of a stream, and JSON held in another view's bytes.
var answeredElsewhere = []reflect.Type{
	reflect.TypeFor[ErrorBody](),       // every 4xx and 5xx
	reflect.TypeFor[SecretSet](),       // PUT .../secrets/{secret}
	reflect.TypeFor[WebhookAnswer](),   // POST .../webhook
	reflect.TypeFor[TriggerRequest](),  // built by Client.Trigger
	reflect.TypeFor[OverrideRequest](), // built by Client.SetOverride
	reflect.TypeFor[LogLine](),         // GET /api/v1/runs/{id}/logs, a line each
	reflect.TypeFor[AppLogLine](),      // GET .../environments/{env}/logs, a line each
	reflect.TypeFor[Evaluation](),      // Rollout.Analysis, EnvStatus.Analysis
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

func TestJSONKeysAreSnakeCaseAndDurationsMilliseconds(t *testing.T) {
	roots := append([]reflect.Type(nil), answeredElsewhere...)
	client := reflect.TypeFor[*Client]()
	for i := range client.NumMethod() {
		m := client.Method(i).Type
		for j := 1; j < m.NumIn(); j++ { // 0 is the receiver
			roots = append(roots, m.In(j))
		}
		for j := range m.NumOut() {
			roots = append(roots, m.Out(j))
		}
	}
	w := &styleWalk{t: t, seen: map[reflect.Type]bool{}}
	for _, r := range roots {
		elem := r
		for elem.Kind() == reflect.Pointer || elem.Kind() == reflect.Slice {
			elem = elem.Elem()
		}
		// Not context.Context, io.ReadCloser or strings; not EnvKey, which names what a path holds.
		if elem.PkgPath() == client.Elem().PkgPath() && notOnTheWire[elem.Name()] == "" {
			w.walk(r, r.String())
		}
	}

	// Every exported struct of the package is reached, so a new view cannot escape the walk.
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	reached := map[string]bool{}
	for typ := range w.seen {
		if typ.PkgPath() == client.Elem().PkgPath() {
			reached[typ.Name()] = true
		}
	}
	for _, f := range pkgs["api"].Files {
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || !ts.Name.IsExported() {
				return true
			}
			if _, isStruct := ts.Type.(*ast.StructType); isStruct && !reached[ts.Name.Name] && notOnTheWire[ts.Name.Name] == "" {
				t.Errorf("%s is in no request or answer of Client's methods: add it to answeredElsewhere (or to notOnTheWire, saying why)", ts.Name.Name)
			}
			return true
		})
	}
	if len(reached) < 50 {
		t.Errorf("the walk reached only %d of the package's types", len(reached))
	}
}

type styleWalk struct {
	t    *testing.T
	seen map[reflect.Type]bool
}

var (
	durationType  = reflect.TypeFor[time.Duration]()
	timeType      = reflect.TypeFor[time.Time]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
)

// walk checks the JSON of typ, reached at path.
func (w *styleWalk) walk(typ reflect.Type, path string) {
	if w.seen[typ] {
		return
	}
	w.seen[typ] = true
	switch typ.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		w.walk(typ.Elem(), path)
		return
	case reflect.Struct:
	default:
		return
	}
	if typ == timeType || typ.Implements(marshalerType) || reflect.PointerTo(typ).Implements(marshalerType) {
		return // written as their own methods say
	}
	for i := range typ.NumField() {
		f := typ.Field(i)
		where := path + "." + f.Name
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
			continue
		case f.Anonymous && name == "":
			w.walk(f.Type, where) // its fields are the view's own keys
			continue
		case name == "":
			w.t.Errorf("%s (%s) has no json tag: its key would be %q; give it a snake_case one", where, typ, f.Name)
		case !snakeCase.MatchString(name):
			w.t.Errorf("%s (%s) has the json key %q: keys are snake_case", where, typ, name)
		}
		elem := f.Type
		for elem.Kind() == reflect.Pointer || elem.Kind() == reflect.Slice || elem.Kind() == reflect.Array {
			elem = elem.Elem()
		}
		if elem == durationType {
			w.t.Errorf("%s (%s) is a time.Duration, written in nanoseconds: durations are milliseconds, a float64 keyed *_ms", where, typ)
		}
		w.walk(f.Type, where)
	}
}
