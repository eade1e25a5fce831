"""Runs N instances of one benchmark model on SpiffWorkflow (in memory, one instance at a time,
every service task completes at once) and prints one JSON line of figures.

usage: python bench.py <model.bpmn> <model-name> <N>
"""
import json
import resource
import sys
import time

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState


def main() -> None:
    path, model, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    source = open(path, encoding="utf-8").read()
    # The shared models carry JUEL conditions for baton; Spiff evaluates Python, and the loop
    # counter is incremented by a script on the flow back (Spiff's plain service task runs no
    # code of ours).
    source = source.replace("${count &gt;= 100}", "count &gt;= 100")
    source = source.replace(
        '<bpmn:sequenceFlow id="f3" sourceRef="task" targetRef="gw" />',
        '<bpmn:sequenceFlow id="f3" sourceRef="task" targetRef="inc" />'
        '<bpmn:scriptTask id="inc"><bpmn:script>count = count + 1</bpmn:script></bpmn:scriptTask>'
        '<bpmn:sequenceFlow id="f3b" sourceRef="inc" targetRef="gw" />',
    )
    tmp = f"/tmp/spiff-{model}.bpmn"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(source)
    parser = BpmnParser()
    parser.add_bpmn_file(tmp)
    spec = parser.get_spec(model)

    lat = []
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for _ in range(n):
        s = time.perf_counter()
        wf = BpmnWorkflow(spec)
        wf.data["count"] = 0
        for task in wf.get_tasks():
            task.data["count"] = 0
        wf.do_engine_steps()
        while not wf.is_completed():
            # Spiff's plain service task waits in STARTED, like an external task: complete it
            # at once (our "worker"), then let the engine run on.
            waiting = wf.get_tasks(state=TaskState.STARTED | TaskState.READY)
            if not waiting:
                raise SystemExit(f"{model}: stuck")
            for t in waiting:
                if t.state == TaskState.READY:
                    t.run()
                else:
                    t.complete()
            wf.do_engine_steps()
        lat.append((time.perf_counter() - s) * 1000)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    lat.sort()

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, round(p / 100 * (len(lat) - 1)))]

    print(json.dumps({
        "engine": "SpiffWorkflow 3.2.0",
        "model": model,
        "instances": n,
        "per_s": n / elapsed,
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "cpu_s_per_1000": cpu / n * 1000,
    }))


if __name__ == "__main__":
    main()
