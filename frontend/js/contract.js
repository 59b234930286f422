// The phase's run contract in words, for the team page: how the container is started and what
// it finds (the `container` of a phase in GET /challenges/{slug}; docs/participants.md).
import { el } from "./common.js";

function inputExample(contract) {
  const pattern = contract.input_name || "{case}{ext}";
  return pattern.replaceAll("{case}", "<case>").replaceAll("{ext}", ".nii.gz").replaceAll("{index}", "0000");
}

export function runContract(phase, { id = "run-contract", title = "How your container is run", heading = "h2" } = {}) {
  const c = phase.container;
  const started = c.args.length
    ? ["your image's ENTRYPOINT (or, without one, its CMD) followed by ", el("code", {}, c.args.join(" "))]
    : ["your image's ENTRYPOINT/CMD, with no arguments"];
  const user = c.root_images === "run_unprivileged"
    ? "its USER; an image without one (root) runs as the unprivileged uid:gid 20000:20000 with HOME=/tmp"
    : "its non-root USER (an image that runs as root is refused)";
  const rows = [
    ["Started as", started],
    ["User", user],
    ["Inputs", [el("code", {}, `/input/${inputExample(c)}`), c.input_name ? "" : " (several per case: <case>_0000.nii.gz, …)"]],
    ["Case list", c.cases_csv ? [el("code", {}, c.cases_csv), ", one case id per line, no header"] : "none (list /input)"],
    ["Outputs", el("code", {}, "/output/<case>.nii.gz")],
    ["/dev/shm", `${c.shm_size_mb} MiB, counted in the memory limit of ${phase.memory_limit_mb} MiB`],
  ];
  return el(
    "section",
    { class: "card", id, "aria-labelledby": `${id}-title` },
    el(heading, { id: `${id}-title` }, title),
    el("dl", { class: "quota" }, rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)])),
  );
}
