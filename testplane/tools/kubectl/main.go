// kubectl for the test plane and the demo: the upstream command (k8s.io/kubectl) behind a main
// of its own, because the upstream main package lives in the k8s.io/kubernetes module, which
// cannot be required without replacing every one of its staging modules. It runs the same
// command tree with the same logging set-up and client auth plugins as the released kubectl.
package main

import (
	"os"

	_ "k8s.io/client-go/plugin/pkg/client/auth" // exec, OIDC and other credential plugins
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	// -v must take effect before the command tree is built (plugin lookup and kuberc log too).
	_, _ = logs.GlogSetter(cmd.GetLogVerbosity(os.Args))
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		util.CheckErr(err)
	}
}
