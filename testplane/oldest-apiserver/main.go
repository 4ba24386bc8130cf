// Command kube-apiserver is the oldest Kubernetes API server konsumerator supports, built from Go
// modules like the test plane's components. The tests apply the CRD and a few Consumers to it to
// check that its validation rules (CEL) compile and behave the same on the oldest supported
// release. It shares etcd with the test plane's build; it needs no other component.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
