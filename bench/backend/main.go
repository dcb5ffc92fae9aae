// Command backend is the small HTTP app the proxy benchmarks put behind ferry's proxy and behind nginx: it
// answers every request with a short body, like a typical JSON endpoint.
//
//	go run ./bench/backend -listen 127.0.0.1:9100
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9100", "address to serve on")
	size := flag.Int("size", 64, "response body bytes")
	flag.Parse()
	body := make([]byte, *size)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	length := strconv.Itoa(len(body))
	log.Fatal(http.ListenAndServe(*listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"text/plain"}
		h["Content-Length"] = []string{length}
		w.Write(body)
	})))
}
