// Command hollow-kubelet runs the kubelet's own code for the test control plane.
//
// It is kubemark's hollow kubelet (k8s.io/kubernetes/pkg/kubemark): the real kubelet with a
// fake container runtime and fake mounts, whose volume plugins (configMap, projected, ...)
// really write files under its root directory. Two things differ from kubemark's own
// command, for the tests: every listener is on 127.0.0.1, and the periodic pod sync is the
// kubelet's default (one minute) instead of kubemark's 10 s, so a ConfigMap change that
// reaches a pod's volume sooner than that was brought by something else (the operator's nudge).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace/noop"
	v1 "k8s.io/api/core/v1"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	remote "k8s.io/cri-client/pkg"
	fakeremote "k8s.io/cri-client/pkg/fake"
	cadvisortest "k8s.io/kubernetes/pkg/kubelet/cadvisor/testing"
	"k8s.io/kubernetes/pkg/kubelet/cm"
	"k8s.io/kubernetes/pkg/kubemark"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the API server")
	name := flag.String("name", "hollow-node", "node name to register")
	port := flag.Int("port", 10250, "the kubelet's HTTPS port, on 127.0.0.1")
	root := flag.String("root-dir", "", "the kubelet's root directory (pods' volumes below it)")
	labels := flag.String("labels", "", "node labels, k=v,k=v")
	taint := flag.String("taint", "", "a NoSchedule taint to register with, k=v: only pods that tolerate it come here")
	sync := flag.Duration("sync-frequency", time.Minute, "the periodic pod sync")
	flag.Parse()
	if err := run(*kubeconfig, *name, *port, *root, *labels, *taint, *sync); err != nil {
		fmt.Fprintln(os.Stderr, "hollow-kubelet:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, name string, port int, root, labels, taint string, sync time.Duration) error {
	ctx := context.Background()
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	config.UserAgent = "aimock-hollow-kubelet"
	client, err := clientset.NewForConfig(config)
	if err != nil {
		return err
	}
	heartbeat := *config
	heartbeat.Timeout = 10 * time.Second
	heartbeat.QPS = -1
	heartbeatClient, err := clientset.NewForConfig(&heartbeat)
	if err != nil {
		return err
	}
	nodeLabels := map[string]string{}
	for _, pair := range strings.Split(labels, ",") {
		if key, value, found := strings.Cut(pair, "="); found {
			nodeLabels[key] = value
		}
	}
	var taints []v1.Taint
	if key, value, found := strings.Cut(taint, "="); found {
		taints = append(taints, v1.Taint{Key: key, Value: value, Effect: v1.TaintEffectNoSchedule})
	}
	flags, kubelet := kubemark.GetHollowKubeletConfig(&kubemark.HollowKubeletOptions{
		NodeName:           name,
		KubeletPort:        port,
		MaxPods:            110,
		NodeLabels:         nodeLabels,
		RegisterWithTaints: taints,
	})
	if root != "" {
		flags.RootDirectory = root
	}
	kubelet.Address = "127.0.0.1"
	kubelet.ReadOnlyPort = 0
	kubelet.HealthzBindAddress = "127.0.0.1"
	kubelet.HealthzPort = 0
	kubelet.SyncFrequency.Duration = sync

	endpoint, err := fakeremote.GenerateEndpoint()
	if err != nil {
		return err
	}
	runtime := fakeremote.NewFakeRemoteRuntime()
	if err := runtime.Start(endpoint); err != nil {
		return err
	}
	defer runtime.Stop()
	runtimeService, err := remote.NewRemoteRuntimeService(ctx, endpoint, 15*time.Second, noop.NewTracerProvider(), false)
	if err != nil {
		return err
	}
	kubemark.NewHollowKubelet(
		flags, kubelet, client, heartbeatClient,
		&cadvisortest.Fake{NodeName: name},
		runtime.ImageService, runtimeService, cm.NewStubContainerManager(),
	).Run(ctx)
	return nil
}
