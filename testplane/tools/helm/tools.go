//go:build tools

// Pins the helm command's module (helm.sh/helm/v4) and, through go.sum, every module it builds
// from; scripts/build-tools.sh builds helm.sh/helm/v4/cmd/helm inside this module.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
