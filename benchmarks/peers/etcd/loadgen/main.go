// Closed-loop etcd write load generator for benchmarks/peers/etcd/run.sh.
//
// N workers each issue Put(key, value) back to back for a fixed duration (or until SIGTERM)
// and record every request's latency. Built by run.sh against Debian's etcd 3.4 client
// (golang-etcd-server-dev) in GOPATH mode, so nothing is fetched from a Go module proxy.
//
// Prints one JSON object on stdout: throughput, latency percentiles (successful requests
// only), error counts, and every gap longer than -gap-ms during which no write succeeded
// anywhere (used to see failover from the clients' side).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"math"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.uber.org/zap"
	"google.golang.org/grpc/grpclog"
)

type gap struct {
	StartUnix float64 `json:"start_unix"`
	EndUnix   float64 `json:"end_unix"`
	Ms        float64 `json:"ms"`
}

type result struct {
	Clients      int                `json:"clients"`
	Conns        int                `json:"conns"`
	ValueSize    int                `json:"value_size"`
	KeyExample   string             `json:"key_example"`
	Endpoints    []string           `json:"endpoints"`
	StartUnix    float64            `json:"start_unix"`
	ElapsedS     float64            `json:"elapsed_s"`
	Ops          int                `json:"ops"`
	Errors       int                `json:"errors"`
	ErrorKinds   map[string]int     `json:"error_kinds"`
	WritesPerS   float64            `json:"writes_per_s"`
	LatencyMs    map[string]float64 `json:"latency_ms"`
	Gaps         []gap              `json:"gaps"`
	StoppedEarly bool               `json:"stopped_early"`
}

type worker struct {
	lat   []time.Duration // latency of each successful put
	done  []int64         // completion time (unix ns) of each successful put
	errs  map[string]int
	nerrs int
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	// nearest-rank
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(sorted) {
		rank = len(sorted) - 1
	}
	return float64(sorted[rank]) / 1e6
}

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated client endpoints")
	clients := flag.Int("clients", 64, "concurrent workers (each has one request in flight)")
	conns := flag.Int("conns", 0, "gRPC client connections shared round-robin by workers (0 = one per worker)")
	valueSize := flag.Int("value-size", 256, "value size in bytes")
	duration := flag.Duration("duration", 20*time.Second, "how long to issue requests")
	opTimeout := flag.Duration("op-timeout", 2*time.Second, "per-request timeout")
	prefix := flag.String("prefix", "/naksha-bench/", "key prefix")
	gapMs := flag.Float64("gap-ms", 200, "report gaps with no successful write longer than this (ms)")
	flag.Parse()

	// Keep the client quiet: grpc and zap logs would interleave with our JSON.
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(ioutil.Discard, ioutil.Discard, ioutil.Discard))
	log.SetOutput(os.Stderr)

	quiet := zap.NewProductionConfig()
	quiet.Level = zap.NewAtomicLevelAt(zap.FatalLevel)
	quiet.OutputPaths = []string{"stderr"}
	quiet.ErrorOutputPaths = []string{"stderr"}

	if *conns <= 0 || *conns > *clients {
		*conns = *clients
	}
	eps := strings.Split(*endpoints, ",")
	cs := make([]*clientv3.Client, *conns)
	for i := range cs {
		c, err := clientv3.New(clientv3.Config{
			Endpoints:   eps,
			DialTimeout: 5 * time.Second,
			LogConfig:   &quiet,
		})
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: connect: %v\n", err)
			os.Exit(1)
		}
		defer c.Close()
		cs[i] = c
	}

	value := strings.Repeat("x", *valueSize)
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var stopped int32
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		atomic.StoreInt32(&stopped, 1)
		cancel()
	}()

	ws := make([]*worker, *clients)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < *clients; i++ {
		w := &worker{errs: map[string]int{}}
		ws[i] = w
		wg.Add(1)
		go func(id int, c *clientv3.Client) {
			defer wg.Done()
			for seq := 0; ctx.Err() == nil; seq++ {
				key := fmt.Sprintf("%s%02d/%09d", *prefix, id, seq)
				octx, ocancel := context.WithTimeout(context.Background(), *opTimeout)
				st := time.Now()
				_, err := c.Put(octx, key, value)
				end := time.Now()
				ocancel()
				if err != nil {
					w.nerrs++
					msg := err.Error()
					if len(msg) > 80 {
						msg = msg[:80]
					}
					w.errs[msg]++
					// Do not spin on a dead endpoint.
					time.Sleep(5 * time.Millisecond)
					continue
				}
				w.lat = append(w.lat, end.Sub(st))
				w.done = append(w.done, end.UnixNano())
			}
		}(i, cs[i%*conns])
	}
	wg.Wait()
	elapsed := time.Since(start)

	var lat []time.Duration
	var done []int64
	r := result{
		Clients: *clients, Conns: *conns, ValueSize: *valueSize, Endpoints: eps,
		KeyExample: fmt.Sprintf("%s%02d/%09d", *prefix, 0, 0),
		StartUnix:  float64(start.UnixNano()) / 1e9, ElapsedS: elapsed.Seconds(),
		ErrorKinds: map[string]int{}, Gaps: []gap{}, StoppedEarly: atomic.LoadInt32(&stopped) == 1,
	}
	for _, w := range ws {
		lat = append(lat, w.lat...)
		done = append(done, w.done...)
		r.Errors += w.nerrs
		for k, v := range w.errs {
			r.ErrorKinds[k] += v
		}
	}
	r.Ops = len(lat)
	r.WritesPerS = float64(r.Ops) / elapsed.Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	r.LatencyMs = map[string]float64{}
	if len(lat) > 0 {
		r.LatencyMs["mean"] = float64(sum) / float64(len(lat)) / 1e6
		r.LatencyMs["p50"] = percentile(lat, 50)
		r.LatencyMs["p90"] = percentile(lat, 90)
		r.LatencyMs["p99"] = percentile(lat, 99)
		r.LatencyMs["p999"] = percentile(lat, 99.9)
		r.LatencyMs["max"] = float64(lat[len(lat)-1]) / 1e6
	}
	sort.Slice(done, func(i, j int) bool { return done[i] < done[j] })
	prev := start.UnixNano()
	for _, d := range append(done, start.Add(elapsed).UnixNano()) {
		if float64(d-prev)/1e6 > *gapMs {
			r.Gaps = append(r.Gaps, gap{StartUnix: float64(prev) / 1e9, EndUnix: float64(d) / 1e9, Ms: float64(d-prev) / 1e6})
		}
		prev = d
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}
