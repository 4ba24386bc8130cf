// Command go-consumer is an example consumer for konsumerator, with franz-go. It reads exactly the
// partitions the operator gives its instance (KONSUMERATOR_PARTITION, e.g. "0,1,2"), assigned by
// hand: it never joins the consumer group, so there are no rebalances. It starts each partition at
// the group's committed offset, commits what it has processed under the group id the operator's
// metrics read, every COMMIT_INTERVAL and once more on SIGTERM, and exits.
//
// Environment: KAFKA_BROKERS (host:port[,host:port]), KAFKA_TOPIC, KAFKA_GROUP from the
// Consumer's deploymentTemplate; KONSUMERATOR_* from the operator (PARTITION_ENV names another
// variable when the Consumer sets partitionEnvKey). GOMAXPROCS and GOMEMLIMIT, which the
// operator sets from the container's limits, are read by the Go runtime itself.
//
// Output: one JSON line per event on stdout (start, progress every PROGRESS_INTERVAL, stop).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

type config struct {
	brokers          []string
	topic            string
	group            string
	partitions       []int32
	instance         string
	numPartitions    int
	numInstances     int
	commitInterval   time.Duration
	progressInterval time.Duration
	workPerMessage   time.Duration
}

func main() {
	cfg, err := loadConfig()
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fail(err)
	}
}

func fail(err error) {
	emit(map[string]any{"event": "error", "error": err.Error()})
	os.Exit(1)
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func loadConfig() (config, error) {
	cfg := config{
		brokers:  strings.Split(env("KAFKA_BROKERS", ""), ","),
		topic:    env("KAFKA_TOPIC", ""),
		group:    env("KAFKA_GROUP", ""),
		instance: env("KONSUMERATOR_INSTANCE", ""),
	}
	if cfg.brokers[0] == "" || cfg.topic == "" || cfg.group == "" {
		return cfg, errors.New("KAFKA_BROKERS, KAFKA_TOPIC and KAFKA_GROUP are required")
	}
	// The partition list: "0,1,2". An instance always has at least one partition.
	key := env("PARTITION_ENV", "KONSUMERATOR_PARTITION")
	list := os.Getenv(key)
	if list == "" {
		return cfg, fmt.Errorf("%s is empty: this program runs as an instance of a konsumerator Consumer", key)
	}
	for _, field := range strings.Split(list, ",") {
		p, err := strconv.ParseInt(strings.TrimSpace(field), 10, 32)
		if err != nil || p < 0 {
			return cfg, fmt.Errorf("%s=%q: not a comma-separated list of partition numbers", key, list)
		}
		cfg.partitions = append(cfg.partitions, int32(p))
	}
	var err error
	if cfg.numPartitions, err = strconv.Atoi(env("KONSUMERATOR_NUM_PARTITIONS", "0")); err != nil {
		return cfg, fmt.Errorf("KONSUMERATOR_NUM_PARTITIONS: %w", err)
	}
	if cfg.numInstances, err = strconv.Atoi(env("KONSUMERATOR_NUM_INSTANCES", "0")); err != nil {
		return cfg, fmt.Errorf("KONSUMERATOR_NUM_INSTANCES: %w", err)
	}
	durations := []struct {
		name     string
		fallback string
		into     *time.Duration
	}{
		{"COMMIT_INTERVAL", "1s", &cfg.commitInterval},
		{"PROGRESS_INTERVAL", "1s", &cfg.progressInterval},
		{"WORK_PER_MESSAGE", "0s", &cfg.workPerMessage},
	}
	for _, d := range durations {
		if *d.into, err = time.ParseDuration(env(d.name, d.fallback)); err != nil {
			return cfg, fmt.Errorf("%s: %w", d.name, err)
		}
	}
	return cfg, nil
}

// progress is what has been processed: per partition, the next offset to read and the count.
type progress struct {
	mu        sync.Mutex
	next      map[int32]int64
	epochs    map[int32]int32
	consumed  map[int32]int64
	committed map[int32]int64
}

func run(ctx context.Context, cfg config) error {
	admin, err := kgo.NewClient(kgo.SeedBrokers(cfg.brokers...), kgo.ClientID("go-consumer-admin"))
	if err != nil {
		return err
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)

	// Start where the group left off; a partition the group never committed starts at the
	// beginning (the equivalent of auto.offset.reset=earliest).
	committed, err := adm.FetchOffsetsForTopics(ctx, cfg.group, cfg.topic)
	if err != nil {
		return fmt.Errorf("fetching the committed offsets of group %s: %w", cfg.group, err)
	}
	start := map[int32]kgo.Offset{}
	state := &progress{
		next: map[int32]int64{}, epochs: map[int32]int32{},
		consumed: map[int32]int64{}, committed: map[int32]int64{},
	}
	for _, p := range cfg.partitions {
		start[p] = kgo.NewOffset().AtStart()
		if o, ok := committed.Lookup(cfg.topic, p); ok && o.Err == nil && o.At >= 0 {
			start[p] = kgo.NewOffset().At(o.At)
			state.next[p] = o.At
			state.committed[p] = o.At
		}
	}

	// Direct assignment (no group membership): the client fetches exactly these partitions.
	client, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.brokers...),
		kgo.ClientID("go-consumer-"+cfg.instance),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.topic: start}),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		return err
	}
	emit(map[string]any{
		"event": "start", "instance": cfg.instance, "partitions": cfg.partitions,
		"numPartitions": cfg.numPartitions, "numInstances": cfg.numInstances,
		"gomaxprocs": runtime.GOMAXPROCS(0), "gomemlimit": debug.SetMemoryLimit(-1),
	})

	commitTicker := time.NewTicker(cfg.commitInterval)
	progressTicker := time.NewTicker(cfg.progressInterval)
	defer commitTicker.Stop()
	defer progressTicker.Stop()
	fetches := make(chan kgo.Fetches)
	pollCtx, stopPolling := context.WithCancel(context.Background())
	go func() {
		defer close(fetches)
		for pollCtx.Err() == nil {
			f := client.PollFetches(pollCtx)
			select {
			case fetches <- f:
			case <-pollCtx.Done():
				return
			}
		}
	}()

	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case f := <-fetches:
			f.EachError(func(t string, p int32, err error) {
				if !errors.Is(err, context.Canceled) {
					emit(map[string]any{"event": "fetch-error", "partition": p, "error": err.Error()})
				}
			})
			f.EachRecord(func(r *kgo.Record) { process(cfg, state, r) })
		case <-commitTicker.C:
			commit(ctx, adm, cfg, state)
		case <-progressTicker.C:
			emit(state.snapshot("progress"))
		}
	}
	// SIGTERM: stop fetching, commit what was processed, and leave within the grace period.
	stopPolling()
	client.Close()
	commitCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	commit(commitCtx, adm, cfg, state)
	emit(state.snapshot("stop"))
	return nil
}

// process is the work of one message; here it only counts it (and waits WORK_PER_MESSAGE).
func process(cfg config, state *progress, r *kgo.Record) {
	if cfg.workPerMessage > 0 {
		time.Sleep(cfg.workPerMessage)
	}
	state.mu.Lock()
	defer state.mu.Unlock()
	state.next[r.Partition] = r.Offset + 1
	state.epochs[r.Partition] = r.LeaderEpoch
	state.consumed[r.Partition]++
}

// commit stores the next offset of every partition that moved since the last commit. The
// commit is a "simple" one (no member id, generation -1), which Kafka accepts for a group
// without members: the group exists only to hold the offsets.
func commit(ctx context.Context, adm *kadm.Client, cfg config, state *progress) {
	offsets := kadm.Offsets{}
	state.mu.Lock()
	for p, next := range state.next {
		if state.committed[p] != next {
			offsets.Add(kadm.Offset{Topic: cfg.topic, Partition: p, At: next, LeaderEpoch: state.epochs[p]})
		}
	}
	state.mu.Unlock()
	if len(offsets) == 0 {
		return
	}
	responses, err := adm.CommitOffsets(ctx, cfg.group, offsets)
	if err == nil {
		err = responses.Error()
	}
	if err != nil {
		emit(map[string]any{"event": "commit-error", "error": err.Error()})
		return
	}
	state.mu.Lock()
	offsets.Each(func(o kadm.Offset) { state.committed[o.Partition] = o.At })
	state.mu.Unlock()
}

func (s *progress) snapshot(event string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := func(m map[int32]int64) map[string]int64 {
		out := map[string]int64{}
		for p, v := range m {
			out[strconv.Itoa(int(p))] = v
		}
		return out
	}
	var total int64
	parts := make([]int, 0, len(s.consumed))
	for p, n := range s.consumed {
		total += n
		parts = append(parts, int(p))
	}
	sort.Ints(parts)
	return map[string]any{
		"event": event, "consumed": keys(s.consumed), "committed": keys(s.committed),
		"total": total, "partitionsSeen": parts,
	}
}

func emit(fields map[string]any) {
	fields["time"] = time.Now().UTC().Format(time.RFC3339Nano)
	line, _ := json.Marshal(fields)
	fmt.Println(string(line))
}
