// A client written against the types openapi-typescript generates from the live server's
// /v1/openapi.json (schema.d.ts, made by openapi_test.py). It must compile under --strict, and
// then it runs against that server: submit a build with free-form metadata, long-poll it, read
// its PCRs. usage: node client.js BASE_URL TOKEN IMAGE
import type { components, paths } from "./schema";

declare const process: { argv: string[]; exitCode: number };

type BuildRequest = components["schemas"]["BuildRequest"];
type Build = components["schemas"]["Build"];
type Submitted = paths["/v1/builds"]["post"]["responses"]["202"]["content"]["application/json"];
type WaitParams = NonNullable<paths["/v1/builds/{id}"]["get"]["parameters"]["query"]>;

async function main(): Promise<void> {
  const [base = "", token = "", image = ""] = process.argv.slice(2);
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  const request: BuildRequest = {
    image,
    env: ["CLIENT=typescript"],
    labels: { client: "typescript" },
    metadata: { team: "payments", release: { train: 7, canary: true } }, // free-form JSON
  };
  const posted = await fetch(`${base}/v1/builds`, { method: "POST", headers, body: JSON.stringify(request) });
  const submitted = (await posted.json()) as Submitted;
  const wait: WaitParams = { wait: 300 };
  let build: Build = submitted;
  while (build.state === "queued" || build.state === "running") {
    const got = await fetch(`${base}/v1/builds/${build.id}?wait=${wait.wait}`, { headers });
    build = (await got.json()) as Build;
  }
  const pcrs: Record<string, string> = build.pcrs ?? {};
  console.log(JSON.stringify({ status: posted.status, location: posted.headers.get("Location"),
                               id: build.id, state: build.state, pcr0: pcrs["PCR0"] ?? null }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
