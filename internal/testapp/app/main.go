// Command app is the small service the local target's tests run: it serves on $PORT and behaves as $MODE says.
package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	switch os.Getenv("MODE") {
	case "crash":
		fmt.Println("crashing on purpose")
		os.Exit(3)
	}
	healthy := os.Getenv("MODE") != "sick" && os.Getenv("MODE") != "nohealth"
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if os.Getenv("MODE") == "nohealth" { // a health path the app does not have
			http.NotFound(w, r)
			return
		}
		if !healthy {
			http.Error(w, "sick", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	// /env/NAME answers the variable NAME as the instance got it, for the tests of what an instance is given.
	http.HandleFunc("/env/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getenv(r.PathValue("name")))
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s pid %d\n", os.Getenv("RELEASE"), os.Getpid())
	})
	fmt.Println("listening on", os.Getenv("PORT"))
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
