// Command app is ferry's sample service: the app of the example repository `ferry demo` commits, and the
// release the end-to-end tests and the benchmarks deploy. It serves on $PORT and answers "hello from VERSION",
// VERSION being version.txt in its working folder, and it misbehaves as mode.txt there says, so that analysis
// and rollbacks have something to catch:
//
//	ok      (or no mode.txt) it works
//	sick    its health check, /healthz, answers 500
//	fail    half of its answers are 500
//	broken  every answer is 500
//	slow    every answer takes 250 ms
//
// While the file named by $FAIL_FILE exists, every answer is 500 too: a test breaks a live release that way
// without deploying another.
package main

import (
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	version := read("version.txt")
	mode := read("mode.txt")
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if mode == "sick" {
			http.Error(w, "sick", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		failing := mode == "broken" || mode == "fail" && rand.Intn(2) == 0
		if name := os.Getenv("FAIL_FILE"); name != "" {
			if _, err := os.Stat(name); err == nil {
				failing = true
			}
		}
		if failing {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		if mode == "slow" {
			time.Sleep(250 * time.Millisecond)
		}
		fmt.Fprintf(w, "hello from %s\n", version)
	})
	http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil)
}

// read is the trimmed content of a file of the working folder, or "" if there is none.
func read(name string) string {
	data, _ := os.ReadFile(name)
	return strings.TrimSpace(string(data))
}
