# The one command that runs every test: `make test`.
GO ?= go

.PHONY: test build demo bench fuzz

# The Kubernetes tests' control plane binaries are built once from the Go module proxy (minutes), then cached;
# FERRY_K8S_BIN names a folder of them if you have one already. The ACME tests' pebble is built the same way
# (seconds), FERRY_PEBBLE_BIN naming its folder, and h2spec, the HTTP/2 conformance suite, FERRY_H2SPEC_BIN.
test:
	$(GO) vet ./...
	FERRY_K8S_BIN="$${FERRY_K8S_BIN:-$$(scripts/k8s-binaries.sh)}" \
	FERRY_PEBBLE_BIN="$${FERRY_PEBBLE_BIN:-$$(scripts/pebble-binaries.sh)}" \
	FERRY_H2SPEC_BIN="$${FERRY_H2SPEC_BIN:-$$(scripts/h2spec-binary.sh)}" \
	$(GO) test -race -count=1 -timeout 30m ./...

build:
	$(GO) build -o bin/ferry ./cmd/ferry

demo:
	$(GO) run ./cmd/ferry demo

bench: build
	./bench/run.sh

# Longer fuzzing than the seed runs `make test` does; not part of CI.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./internal/pipeline/
	$(GO) test -run '^$$' -fuzz FuzzParseWebhookGitHub -fuzztime 30s ./internal/source/
	$(GO) test -run '^$$' -fuzz FuzzParseWebhookGitLab -fuzztime 30s ./internal/source/
	$(GO) test -run '^$$' -fuzz FuzzParseMetrics -fuzztime 30s ./internal/gate/
	$(GO) test -run '^$$' -fuzz FuzzParseCases -fuzztime 30s ./internal/evals/
	$(GO) test -run '^$$' -fuzz FuzzEvaluate -fuzztime 60s ./internal/flags/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./internal/flags/
	$(GO) test -run '^$$' -fuzz FuzzFastHeadsMatchNetHTTP -fuzztime 60s ./internal/proxy/
