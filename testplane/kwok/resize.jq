# jq functions for the in-place resize stages (pod-stages.yaml). src/testplane/kwok-stages.ts puts
# `def kwok_nodes: {...};` (what kwok knows about each fake node) and this file in front of every jq
# expression of those stages, which are then evaluated on one Pod at a time.

# A Kubernetes quantity ("500m", "2", "1536Mi", "1e3") as a number of base units.
def quantity:
  if type == "number" then .
  elif type != "string" then null
  else
    (capture("^(?<n>[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+))(?<s>[eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$") // null) as $c
    | if $c == null then null
      else ($c.n | tonumber) * (
        if $c.s == null or $c.s == "" then 1
        elif ($c.s | test("^[eE]")) then pow(10; $c.s[1:] | tonumber)
        else {"n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
              "E": 1e18, "Ki": 1024, "Mi": 1048576, "Gi": 1073741824, "Ti": 1099511627776,
              "Pi": 1125899906842624, "Ei": 1152921504606846976}[$c.s]
        end)
      end
  end;

# Rounded up to a whole number, like resource.Quantity's Value()/MilliValue(); float noise ignored.
def whole: (. | round) as $r | if (. - $r | fabs) < 1e-6 then $r else ceil end;

# cpu in millicores, memory in bytes; null when absent.
def amount($resource):
  if . == null then null
  else quantity as $q
    | if $q == null then null elif $resource == "cpu" then ($q * 1000 | whole) else ($q | whole) end
  end;

# The cpu/memory part of a container's resources (spec or status), comparable by value.
def cpu_memory: (. // {}) as $r | {
  requests: {cpu: ($r.requests.cpu | amount("cpu")), memory: ($r.requests.memory | amount("memory"))},
  limits: {cpu: ($r.limits.cpu | amount("cpu")), memory: ($r.limits.memory | amount("memory"))}
};

def spec_containers: [(.spec.containers // [])[], (.spec.initContainers // [])[]];
def container_statuses: [(.status.containerStatuses // [])[], (.status.initContainerStatuses // [])[]];

# Some container's desired resources (spec) differ from what it runs with (status).
def resources_differ:
  . as $pod
  | any(container_statuses[];
      . as $status
      | ([$pod | spec_containers[] | select(.name == $status.name) | .resources | cpu_memory][0]) as $desired
      | $desired != null and $desired != ($status.resources | cpu_memory));

# Some container's desired cpu request differs from the one the node has allocated to it.
def cpu_request_changes:
  . as $pod
  | any(container_statuses[];
      . as $status
      | ([$pod | spec_containers[] | select(.name == $status.name) | .resources.requests.cpu | amount("cpu")][0]) as $desired
      | $desired != (($status.allocatedResources // $status.resources.requests // {}).cpu | amount("cpu")));

# What the kubelet admits a pod with: regular containers plus sidecars, at least the largest init
# step, plus the pod's overhead; or the pod-level requests when the pod sets them.
def container_request($resource): (.resources.requests // {})[$resource] | amount($resource) // 0;
def pod_request($resource):
  if ((.spec.resources.requests // {})[$resource]) != null then
    .spec.resources.requests[$resource] | amount($resource)
  else
    ([(.spec.containers // [])[] | container_request($resource)] | add // 0) as $regular
    | (reduce (.spec.initContainers // [])[] as $init ({sidecars: 0, largest: 0};
        if $init.restartPolicy == "Always" then
          .sidecars += ($init | container_request($resource)) | .largest = ([.largest, .sidecars] | max)
        else
          .largest = ([.largest, .sidecars + ($init | container_request($resource))] | max)
        end)) as $init
    | ([$regular + $init.sidecars, $init.largest] | max)
      + (((.spec.overhead // {})[$resource] | amount($resource)) // 0)
  end;

# Guaranteed QoS class: every container has cpu and memory limits equal to its requests.
def guaranteed:
  all(spec_containers[];
    .resources as $r
    | all("cpu", "memory";
        . as $resource
        | (($r.limits // {})[$resource] | amount($resource)) as $limit
        | $limit != null and ((($r.requests // {})[$resource] // ($r.limits // {})[$resource]) | amount($resource)) == $limit));

def node: kwok_nodes[.spec.nodeName // ""] // {};

# The pod's desired requests fit the node: what its other pods hold plus this pod's requests stays
# within allocatable. Only nodes that declare `usedByOthers` are checked.
def fits($resource):
  node as $node
  | if ($node.usedByOthers // {})[$resource] == null or ($node.allocatable // {})[$resource] == null then true
    else pod_request($resource) + $node.usedByOthers[$resource] <= $node.allocatable[$resource]
    end;

# The static CPU manager policy cannot resize the cpu of a Guaranteed pod.
def infeasible: node.cpuManagerPolicy == "static" and guaranteed and cpu_request_changes;

def generation: .metadata.generation // 1;

# The node has something to do or report: a spec change not observed yet, or a resize condition.
# Every resize stage requires it (a spec change is the only way into a resize).
def unsettled:
  .status.observedGeneration != generation
  or any(.status.conditions[]?; .type == "PodResizePending" or .type == "PodResizeInProgress");
def condition($type): [(.status.conditions // [])[] | select(.type == $type)][0];
def in_progress: condition("PodResizeInProgress") != null;
def pending: condition("PodResizePending") != null;
def observed($type): (condition($type) // {}).observedGeneration == generation;

# The current generation's resize has been decided (allocated, deferred or infeasible).
def decided: observed("PodResizeInProgress") or observed("PodResizePending");

# A resize the node has not decided on yet.
def undecided_resize: (resources_differ or in_progress) and (decided | not);

# Some container restarts to apply the allocated resources: its resizePolicy for a changed resource
# is RestartContainer.
def restart_needed:
  . as $pod
  | any(container_statuses[];
      . as $status
      | ([$pod | spec_containers[] | select(.name == $status.name)][0]) as $spec
      | if $spec == null then false
        else ($spec.resources | cpu_memory) as $desired
          | ($status.resources | cpu_memory) as $actual
          | any(($spec.resizePolicy // [])[] | select(.restartPolicy == "RestartContainer") | .resourceName;
              . as $resource
              | $desired.requests[$resource] != $actual.requests[$resource]
                or $desired.limits[$resource] != $actual.limits[$resource])
        end);
