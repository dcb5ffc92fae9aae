package ofrep

import (
	"context"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/ferry-cd/ferry/internal/flags"
	ofrepprovider "github.com/open-feature/go-sdk-contrib/providers/ofrep"
	"github.com/open-feature/go-sdk/openfeature"
)

// sdkClient starts a server with Handler(src) and returns an OpenFeature client whose OFREP provider
// sends the bearer token.
func sdkClient(t *testing.T, src Source, token string) *openfeature.Client {
	t.Helper()
	srv := httptest.NewServer(Handler(src))
	t.Cleanup(srv.Close)
	provider := ofrepprovider.NewProvider(srv.URL, ofrepprovider.WithBearerToken(token))
	domain := t.Name()
	if err := openfeature.SetNamedProviderAndWait(domain, provider); err != nil {
		t.Fatalf("SetNamedProviderAndWait: %v", err)
	}
	return openfeature.NewClient(domain)
}

// TestOpenFeatureSDK evaluates flags through the OpenFeature Go SDK and its OFREP provider, as an app would.
func TestOpenFeatureSDK(t *testing.T) {
	src := newSource(t)
	src.st = &flags.State{Overrides: map[string]string{"float-flag": "e"}}
	client := sdkClient(t, src, "secret")
	ctx := context.Background()
	internal := openfeature.NewEvaluationContext("user-1", map[string]any{"email": "ann@example.com"})
	customer := openfeature.NewEvaluationContext("user-1", map[string]any{"email": "bob@example.org"})

	b, err := client.BooleanValueDetails(ctx, "bool-flag", false, internal)
	if err != nil || !b.Value || b.Reason != openfeature.TargetingMatchReason || b.Variant != "on" {
		t.Errorf("boolean, targeting match: %+v, %v", b, err)
	}
	if got := src.auth.Load(); got != "Bearer secret" {
		t.Errorf("the provider sent Authorization %q", got)
	}
	wantName, wantValue := splitVariant("bool-flag", "user-1")
	b, err = client.BooleanValueDetails(ctx, "bool-flag", !wantValue, customer)
	if err != nil || b.Value != wantValue || b.Reason != openfeature.SplitReason || b.Variant != wantName {
		t.Errorf("boolean, split: %+v, %v", b, err)
	}
	s, err := client.StringValueDetails(ctx, "string-flag", "fallback", customer)
	if err != nil || s.Value != "Buy" || s.Reason != openfeature.StaticReason || s.Variant != "short" {
		t.Errorf("string: %+v, %v", s, err)
	}
	i, err := client.IntValueDetails(ctx, "int-flag", 0, customer)
	if err != nil || i.Value != 1000 || i.Variant != "high" {
		t.Errorf("integer: %+v, %v", i, err)
	}
	f, err := client.FloatValueDetails(ctx, "float-flag", 0, customer)
	if err != nil || f.Value != 2.71828 || f.Reason != openfeature.StaticReason || f.Variant != "e" {
		t.Errorf("float, overridden: %+v, %v", f, err)
	}
	if over, err := f.FlagMetadata.GetBool("override"); err != nil || !over {
		t.Errorf("float, overridden: metadata %v (%v)", f.FlagMetadata, err)
	}
	o, err := client.ObjectValueDetails(ctx, "object-flag", nil, customer)
	want := map[string]any{"bg": "#000", "sizes": []any{1.0, 2.0}, "beta": true}
	if err != nil || !reflect.DeepEqual(o.Value, want) || o.Variant != "dark" {
		t.Errorf("object: %+v, %v", o, err)
	}

	// Errors surface as the SDK's errors, with the code default.
	nf, err := client.BooleanValueDetails(ctx, "no-such-flag", true, customer)
	if err == nil || !nf.Value || nf.ErrorCode != openfeature.FlagNotFoundCode || nf.Reason != openfeature.ErrorReason {
		t.Errorf("FLAG_NOT_FOUND: %+v, %v", nf, err)
	}
	anon := openfeature.NewTargetlessEvaluationContext(map[string]any{"email": "bob@example.org"})
	tk, err := client.BooleanValueDetails(ctx, "bool-flag", true, anon)
	if err == nil || !tk.Value || tk.ErrorCode != openfeature.TargetingKeyMissingCode {
		t.Errorf("TARGETING_KEY_MISSING: %+v, %v", tk, err)
	}
	ic, err := client.BooleanValueDetails(ctx, "org-flag", true, openfeature.NewEvaluationContext("u", map[string]any{"country": "de", "org": 7}))
	if err == nil || !ic.Value || ic.ErrorCode != openfeature.InvalidContextCode {
		t.Errorf("INVALID_CONTEXT: %+v, %v", ic, err)
	}
	// Without its bucket_by attribute a split serves the flag's default, as flagd does.
	nb, err := client.BooleanValueDetails(ctx, "org-flag", true, openfeature.NewEvaluationContext("u", map[string]any{"country": "de"}))
	if err != nil || nb.Value || nb.Reason != openfeature.DefaultReason || nb.Variant != "off" {
		t.Errorf("no bucket_by attribute: %+v, %v", nb, err)
	}
	tm, err := client.StringValueDetails(ctx, "bool-flag", "fallback", internal)
	if err == nil || tm.Value != "fallback" || tm.ErrorCode != openfeature.TypeMismatchCode {
		t.Errorf("a boolean flag read as a string: %+v, %v", tm, err)
	}
	// A disabled flag: the provider hands back the code default with reason DISABLED.
	d, err := client.BooleanValueDetails(ctx, "disabled-flag", true, customer)
	if err != nil || !d.Value || d.Reason != openfeature.DisabledReason {
		t.Errorf("disabled: %+v, %v", d, err)
	}
}

func TestOpenFeatureSDKAuth(t *testing.T) {
	src := newSource(t)
	client := sdkClient(t, src, "wrong")
	ctx := context.Background()
	b, err := client.BooleanValueDetails(ctx, "bool-flag", true, openfeature.NewEvaluationContext("user-1", nil))
	if err == nil || !b.Value || b.ErrorCode != openfeature.GeneralCode {
		t.Errorf("a wrong token: %+v, %v", b, err)
	}
	if got := src.auth.Load(); got != "Bearer wrong" {
		t.Errorf("the provider sent Authorization %q", got)
	}
}
