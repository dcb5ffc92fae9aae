package ofrep_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/ofrep"
)

func ExampleHandler() {
	set, err := flags.Parse(flags.FileName, []byte(`flags:
  new-checkout:
    variants: {on: true, off: false}
    default: off
    rules:
      - if: {attribute: email, ends_with: "@example.com"}
        variant: on
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	h := ofrep.Handler(ofrep.SourceFunc(func(r *http.Request) (*flags.Set, *flags.State, string, error) {
		if r.Header.Get("Authorization") != "Bearer secret" {
			return nil, nil, "", &ofrep.StatusError{Status: http.StatusUnauthorized, Message: "unknown token"}
		}
		return set, nil, "release-1", nil
	}))
	for _, token := range []string{"secret", "guess"} {
		req := httptest.NewRequest("POST", "/ofrep/v1/evaluate/flags/new-checkout",
			strings.NewReader(`{"context": {"targetingKey": "user-1", "email": "ann@example.com"}}`))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	// Output:
	// 200 {"key":"new-checkout","value":true,"reason":"TARGETING_MATCH","variant":"on"}
	// 401 {"errorDetails":"unknown token"}
}
