// Package archtest holds ferry's import rules as one test (imports_test.go): the "must not import" sentences
// of the package comments and the rules of the design's rooms, checked against `go list -deps -json` so that a
// change which breaks one fails `go test ./...` with the package, the forbidden import and the chain of
// imports that brings it in.
//
// It has no code of its own and imports nothing.
package archtest
