// An AMQP 1.0 client written with Azure's go-amqp, driven by the interop suite (test/interop): it
// connects (plain or mutual TLS), sends or receives N messages and prints one JSON line per event and a
// JSON summary. Message bodies are one data section: an 8-byte big-endian id, then filler up to -size.
package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	amqp "github.com/Azure/go-amqp"
)

type options struct {
	url, mode, addr, ca, cert, key, linkName string
	n, size, window, credit, releaseFirst    int
	firstID                                  uint64
	settled, retryReleased, probe, verbose   bool
	timeout, idle, hold                      time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "amqp://127.0.0.1:5672", "router URL (amqp:// or amqps://)")
	flag.StringVar(&o.mode, "mode", "connect", "connect | send | recv | mgmt")
	flag.StringVar(&o.addr, "addr", "", "address to send to / receive from")
	flag.StringVar(&o.ca, "ca", "", "CA certificate (PEM) that signed the router's certificate")
	flag.StringVar(&o.cert, "cert", "", "client certificate (PEM)")
	flag.StringVar(&o.key, "key", "", "client key (PEM)")
	flag.StringVar(&o.linkName, "name", "", "link name")
	flag.IntVar(&o.n, "n", 1, "messages to send, or to receive before exiting (0: until idle)")
	flag.Uint64Var(&o.firstID, "first-id", 0, "sender: id of the first message")
	flag.IntVar(&o.size, "size", 16, "body size in bytes (>= 8)")
	flag.IntVar(&o.window, "window", 100, "sends in flight (awaiting their outcome)")
	flag.IntVar(&o.credit, "credit", 100, "receiver credit")
	flag.IntVar(&o.releaseFirst, "release-first", 0, "receiver: release the first K messages instead of accepting them")
	flag.BoolVar(&o.settled, "settled", false, "sender: snd-settle-mode settled (pre-settled)")
	flag.BoolVar(&o.retryReleased, "retry-released", false, "sender: send a released message again (after 50 ms, at most 200 times)")
	flag.BoolVar(&o.probe, "probe", false, "sender: send probe messages (id 2^63 | k) every 100 ms until killed")
	flag.BoolVar(&o.verbose, "verbose", false, "sender: print each message's outcome")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "overall deadline")
	flag.DurationVar(&o.idle, "idle", 0, "receiver: exit after this long without a message (0: never)")
	flag.DurationVar(&o.hold, "hold", 0, "connect: stay connected this long before closing")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if err := run(ctx, o); err != nil {
		emit(map[string]any{"error": err.Error()})
		os.Exit(1)
	}
}

var outMu sync.Mutex

func emit(v any) {
	b, _ := json.Marshal(v)
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Println(string(b))
}

func dial(ctx context.Context, o options) (*amqp.Conn, error) {
	opts := &amqp.ConnOptions{ContainerID: "go-amqp-interop", IdleTimeout: -1, MaxFrameSize: 1 << 20}
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("no certificate in " + o.ca)
		}
		cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
		if o.cert != "" {
			pair, err := tls.LoadX509KeyPair(o.cert, o.key)
			if err != nil {
				return nil, err
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		opts.TLSConfig = cfg
	}
	return amqp.Dial(ctx, o.url, opts)
}

func run(ctx context.Context, o options) error {
	conn, err := dial(ctx, o)
	if err != nil {
		return err
	}
	defer conn.Close()
	session, err := conn.NewSession(ctx, nil)
	if err != nil {
		return err
	}
	switch o.mode {
	case "connect":
		// Prove the connection works beyond the handshake: a session and a link attach.
		r, err := session.NewReceiver(ctx, "", &amqp.ReceiverOptions{DynamicAddress: true})
		if err != nil {
			return err
		}
		emit(map[string]any{"connected": true, "dynamic": r.Address()})
		time.Sleep(o.hold)
		return nil
	case "send":
		return send(ctx, session, o)
	case "recv":
		return receive(ctx, session, o)
	case "mgmt":
		return management(ctx, session)
	}
	return fmt.Errorf("unknown mode %q", o.mode)
}

func body(id uint64, size int) []byte {
	if size < 8 {
		size = 8
	}
	b := make([]byte, size)
	binary.BigEndian.PutUint64(b, id)
	for i := 8; i < size; i++ {
		b[i] = byte(i*31 + int(id))
	}
	return b
}

const probeBit = uint64(1) << 63

func send(ctx context.Context, session *amqp.Session, o options) error {
	so := &amqp.SenderOptions{Name: o.linkName}
	if o.settled {
		so.SettlementMode = amqp.SenderSettleModeSettled.Ptr()
	}
	sender, err := session.NewSender(ctx, o.addr, so)
	if err != nil {
		return err
	}
	emit(map[string]any{"attached": true, "name": sender.LinkName()})
	if o.probe {
		for k := uint64(0); ; k++ {
			if err := sender.Send(ctx, amqp.NewMessage(body(probeBit|k, o.size)), &amqp.SendOptions{Settled: o.settled}); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	start := time.Now()
	var mu sync.Mutex
	counts := map[string]int{}
	accepted := []uint64{}
	sum := sha256.New()
	slots := make(chan struct{}, max(1, o.window))
	var wg sync.WaitGroup
	var firstErr error
	for i := 0; i < o.n; i++ {
		id := o.firstID + uint64(i)
		b := body(id, o.size)
		if i == 0 {
			sum.Write(b)
		}
		if o.settled {
			if err := sender.Send(ctx, amqp.NewMessage(b), &amqp.SendOptions{Settled: true}); err != nil {
				return err
			}
			counts["sent"]++
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			outcome := "error"
			for attempt := 0; attempt < 200; attempt++ {
				receipt, err := sender.SendWithReceipt(ctx, amqp.NewMessage(b), nil)
				if err == nil {
					var state amqp.DeliveryState
					state, err = receipt.Wait(ctx)
					switch state.(type) {
					case *amqp.StateAccepted:
						outcome = "accepted"
					case *amqp.StateReleased:
						outcome = "released"
					case *amqp.StateModified:
						outcome = "modified"
					case *amqp.StateRejected:
						outcome = "rejected"
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					outcome = "error"
				}
				if outcome != "released" || !o.retryReleased {
					break
				}
				mu.Lock()
				counts["retries"]++
				mu.Unlock()
				time.Sleep(50 * time.Millisecond)
			}
			if o.verbose {
				emit(map[string]any{"id": id, "outcome": outcome})
			}
			mu.Lock()
			counts[outcome]++
			if outcome == "accepted" {
				accepted = append(accepted, id)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	summary := map[string]any{"done": true, "counts": counts, "elapsed_ms": elapsed.Milliseconds(), "sha256_first": hex.EncodeToString(sum.Sum(nil))}
	if len(accepted) <= 100_000 {
		summary["accepted_ids"] = accepted
	}
	if firstErr != nil {
		summary["first_error"] = firstErr.Error()
	}
	emit(summary)
	return sender.Close(ctx)
}

func receive(ctx context.Context, session *amqp.Session, o options) error {
	ro := &amqp.ReceiverOptions{Credit: int32(o.credit), Name: o.linkName}
	receiver, err := session.NewReceiver(ctx, o.addr, ro)
	if err != nil {
		return err
	}
	emit(map[string]any{"ready": true})
	ids := []uint64{}
	released := 0
	sawProbe := false
	sum := ""
	for o.n == 0 || len(ids) < o.n {
		rctx := ctx
		var cancel context.CancelFunc = func() {}
		if o.idle > 0 {
			rctx, cancel = context.WithTimeout(ctx, o.idle)
		}
		msg, err := receiver.Receive(rctx, nil)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				break
			}
			return err
		}
		data := msg.GetData()
		if len(data) < 8 {
			_ = receiver.RejectMessage(ctx, msg, nil)
			continue
		}
		id := binary.BigEndian.Uint64(data)
		if id&probeBit != 0 {
			if !sawProbe {
				sawProbe = true
				emit(map[string]any{"probe": true})
			}
			_ = receiver.AcceptMessage(ctx, msg)
			continue
		}
		if released < o.releaseFirst {
			released++
			if err := receiver.ReleaseMessage(ctx, msg); err != nil {
				return err
			}
			continue
		}
		if len(ids) == 0 {
			h := sha256.Sum256(data)
			sum = hex.EncodeToString(h[:])
		}
		if err := receiver.AcceptMessage(ctx, msg); err != nil {
			return err
		}
		ids = append(ids, id)
	}
	emit(map[string]any{"done": true, "received": len(ids), "released": released, "ids": ids, "sha256_first": sum})
	return receiver.Close(ctx)
}

// management sends the standard AMQP management QUERY for connections and prints the reply.
func management(ctx context.Context, session *amqp.Session) error {
	reply, err := session.NewReceiver(ctx, "", &amqp.ReceiverOptions{DynamicAddress: true, Credit: 10})
	if err != nil {
		return err
	}
	sender, err := session.NewSender(ctx, "$management", nil)
	if err != nil {
		return err
	}
	replyTo := reply.Address()
	msg := amqp.NewMessage(nil)
	msg.Data = nil
	msg.Value = map[string]any{"attributeNames": []any{}}
	msg.Properties = &amqp.MessageProperties{MessageID: "go-1", ReplyTo: &replyTo}
	msg.ApplicationProperties = map[string]any{"operation": "QUERY", "type": "org.amqp.management", "entityType": "io.skupper.router.connection", "name": "self"}
	if err := sender.Send(ctx, msg, nil); err != nil {
		return err
	}
	res, err := reply.Receive(ctx, nil)
	if err != nil {
		return err
	}
	_ = reply.AcceptMessage(ctx, res)
	out := map[string]any{"done": true, "properties": res.ApplicationProperties, "correlation": res.Properties.CorrelationID}
	if m, ok := res.Value.(map[string]any); ok {
		out["attributeNames"] = m["attributeNames"]
		if rows, ok := m["results"].([]any); ok {
			out["rows"] = len(rows)
		}
	} else {
		out["value"] = fmt.Sprintf("%T", res.Value)
	}
	emit(out)
	return nil
}
