// vancp: one binary for the test control plane of vscode-skupper.
//
//	vancp kube-apiserver ...           (k8s.io/kubernetes/cmd/kube-apiserver)
//	vancp kube-controller-manager ...  (k8s.io/kubernetes/cmd/kube-controller-manager)
//	vancp kube-scheduler ...           (k8s.io/kubernetes/cmd/kube-scheduler)
//	vancp etcd --data-dir D --listen-client-urls U --listen-peer-urls P
//	vancp version
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: vancp kube-apiserver|kube-controller-manager|kube-scheduler|etcd|version [flags]")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	sub := os.Args[1]
	os.Args = append([]string{sub}, os.Args[2:]...)
	switch sub {
	case "kube-apiserver":
		os.Exit(cli.Run(apiserver.NewAPIServerCommand()))
	case "kube-controller-manager":
		os.Exit(cli.Run(controllermanager.NewControllerManagerCommand()))
	case "kube-scheduler":
		os.Exit(cli.Run(scheduler.NewSchedulerCommand()))
	case "etcd":
		os.Exit(runEtcd(os.Args[1:]))
	case "version":
		fmt.Println(version.Get().GitVersion)
	default:
		usage()
	}
}

func parseURLs(s string) ([]url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	return []url.URL{*u}, nil
}

func runEtcd(args []string) int {
	fs := flag.NewFlagSet("etcd", flag.ExitOnError)
	dataDir := fs.String("data-dir", "", "data directory")
	name := fs.String("name", "default", "member name")
	client := fs.String("listen-client-urls", "http://127.0.0.1:2379", "client URL")
	peer := fs.String("listen-peer-urls", "http://127.0.0.1:2380", "peer URL")
	quota := fs.Int64("quota-backend-bytes", 2<<30, "backend quota")
	logLevel := fs.String("log-level", "warn", "log level")
	fs.Parse(args)
	if *dataDir == "" {
		fmt.Fprintln(os.Stderr, "etcd: --data-dir is required")
		return 2
	}
	cfg := embed.NewConfig()
	cfg.Name = *name
	cfg.Dir = *dataDir
	cfg.LogLevel = *logLevel
	cfg.QuotaBackendBytes = *quota
	var err error
	if cfg.ListenClientUrls, err = parseURLs(*client); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg.AdvertiseClientUrls = cfg.ListenClientUrls
	if cfg.ListenPeerUrls, err = parseURLs(*peer); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg.AdvertisePeerUrls = cfg.ListenPeerUrls
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcd:", err)
		return 1
	}
	defer e.Close()
	select {
	case <-e.Server.ReadyNotify():
		fmt.Fprintln(os.Stderr, "etcd: ready on", *client)
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		fmt.Fprintln(os.Stderr, "etcd: took too long to start")
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-e.Err():
		fmt.Fprintln(os.Stderr, "etcd:", err)
		return 1
	case <-sig:
		return 0
	}
}
