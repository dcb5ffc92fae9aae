// Command proxy serves ferry's proxy in front of fixed upstreams, for benchmarks against nginx:
//
//	go run ./bench/proxy -listen 127.0.0.1:9300 -upstream 127.0.0.1:9100
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"

	"github.com/ferry-cd/ferry/internal/proxy"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9300", "address to serve on")
	upstreams := flag.String("upstream", "127.0.0.1:9100", "comma-separated upstream addresses")
	std := flag.Bool("std", false, "serve with net/http instead of ferry's own loop")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here until interrupted")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		go func() {
			c := make(chan os.Signal, 1)
			signal.Notify(c, os.Interrupt)
			<-c
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(0)
		}()
	}
	p := &proxy.Proxy{Name: "bench"}
	p.SetRoute(proxy.Route{Stable: proxy.Version{Role: proxy.Stable, Release: "1", Weight: 100, Upstreams: strings.Split(*upstreams, ",")}})
	if *std {
		log.Fatal(http.ListenAndServe(*listen, p))
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(p.Serve(l))
}
