// A TypeScript integrator's first program, typed by the client openapi-typescript generated from
// the live schema (generated/schema.ts) and sent with openapi-fetch. It must compile with `tsc`
// strict, then pass against a live server:  node dist/program.js <base url>
// (tests/clients/test_generated_clients.py does both). It registers a buyer and a seller, logs
// them in, drafts a project with two milestones naming the seller by e-mail, lets the seller join,
// proposes, has the seller accept, and lists the projects, checking every answer.
import createClient from "openapi-fetch";

import type { components, paths } from "./generated/schema.js";

type Project = components["schemas"]["Project"];
type Milestone = components["schemas"]["Milestone"];
type ErrorBody = components["schemas"]["Error"];

const baseUrl: string = process.argv[2] ?? "";
if (!baseUrl) throw new Error("usage: node dist/program.js <base url of the server>");

function check(condition: boolean, what: string, answer?: unknown): asserts condition {
  if (!condition) throw new Error(`${what}; the answer was: ${JSON.stringify(answer)}`);
}

// A field the API answers with null must be declared nullable: checked when compiling (a
// non-nullable type makes the argument `never`), then at run time.
function nullable<T>(value: null extends T ? T : never): T {
  return value;
}

const anonymous = createClient<paths>({ baseUrl });
const password = "a long and unusual passphrase";
const run = `${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
const buyerEmail = `buyer-${run}@example.net`;
const sellerEmail = `seller-${run}@example.net`;

async function register(email: string, fullName: string): Promise<string> {
  const { data, error, response } = await anonymous.POST("/api/v1/auth/register/", {
    body: { email, password, full_name: fullName },
  });
  check(response.status === 201 && data !== undefined, `register ${email}: 201`, error);
  check(data.email === email && data.full_name === fullName && typeof data.id === "string",
    "register answers the user", data);
  return data.id;
}

async function logIn(email: string) {
  const { data, error, response } = await anonymous.POST("/api/v1/auth/token/", { body: { email, password } });
  check(response.status === 200 && data !== undefined, `log in ${email}: 200`, error);
  check(data.token_type === "bearer" && data.access.length > 0 && data.expires_in > 0, "a bearer token", data);
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${data.access}` } });
}

const buyerId = await register(buyerEmail, "Ada Buyer");
const sellerId = await register(sellerEmail, "Sam Seller");
check(buyerId !== sellerId, "two users");
const buyer = await logIn(buyerEmail);

// Without a token: the documented 401, in the one error shape.
{
  const { data, error, response } = await anonymous.GET("/api/v1/projects/");
  check(response.status === 401 && data === undefined && error !== undefined, "no token: 401", error);
  const body: ErrorBody = error;
  check(body.error.code === "not_authenticated", "no token: not_authenticated", body);
}

// The buyer drafts the deal, naming the seller by e-mail: the seller is invited.
const created = await buyer.POST("/api/v1/projects/", {
  params: { header: { "Idempotency-Key": `create-${run}` } },
  body: {
    title: "Website", total_amount: "1500.00", currency: "USD", buyer_email: buyerEmail,
    seller_email: sellerEmail, fee_bearer: "split",
  },
});
check(created.response.status === 201 && created.data !== undefined, "create the project: 201", created.error);
const project: Project = created.data;
check(project.status === "draft" && project.total_amount === "1500.00" && project.currency === "USD",
  "a USD draft of 1500.00", project);
check(project.buyer_id === buyerId && nullable(project.seller_id) === null && nullable(project.seller_email) === null,
  "the seller is invited, not yet a party (no id, no e-mail)", project);
{
  const invitation = await buyer.GET("/api/v1/projects/{id}/invitation/", { params: { path: { id: project.id } } });
  check(invitation.response.status === 200 && invitation.data !== undefined, "the invitation: 200", invitation.error);
  check(invitation.data.email === sellerEmail && invitation.data.status === "open"
    && nullable(invitation.data.accepted_at) === null && nullable(invitation.data.withdrawn_at) === null,
    "an open invitation", invitation.data);
}

const milestones: Milestone[] = [];
for (const [title, amount] of [["Design", "500.00"], ["Build", "1000.00"]] as const) {
  const added = await buyer.POST("/api/v1/projects/{id}/milestones/", {
    params: { path: { id: project.id }, header: { "Idempotency-Key": `milestone-${title}-${run}` } },
    body: { title, amount },
  });
  check(added.response.status === 201 && added.data !== undefined, `add milestone ${title}: 201`, added.error);
  const milestone: Milestone = added.data;
  check(milestone.project_id === project.id && milestone.amount === amount && milestone.status === "pending",
    `milestone ${title}`, milestone);
  milestones.push(milestone);
}
{
  const listed = await buyer.GET("/api/v1/projects/{id}/milestones/", { params: { path: { id: project.id } } });
  check(listed.response.status === 200 && listed.data !== undefined, "list the milestones: 200", listed.error);
  const ids = listed.data.map((m) => m.id);
  check(ids.length === 2 && milestones.every((m) => ids.includes(m.id)), "both milestones listed", listed.data);
}

// Proposing before the seller joined is refused (409, the one error shape).
{
  const early = await buyer.POST("/api/v1/projects/{id}/propose/", {
    params: { path: { id: project.id }, header: { "Idempotency-Key": `propose-early-${run}` } },
  });
  check(early.response.status === 409 && early.error !== undefined, "propose before the seller joined: 409", early.data);
  check(early.error.error.code === "invalid_transition", "invalid_transition", early.error);
}

// The seller joins by logging in with the invited e-mail.
const seller = await logIn(sellerEmail);
{
  const seen = await seller.GET("/api/v1/projects/{id}/", { params: { path: { id: project.id } } });
  check(seen.response.status === 200 && seen.data !== undefined, "the seller sees the project", seen.error);
  check(seen.data.seller_id === sellerId && seen.data.milestones.length === 2, "the seller is the party", seen.data);
  check(seen.data.milestones.every((m) => typeof m.id === "string" && typeof m.amount === "string"),
    "the project's milestones are typed", seen.data.milestones);
}

const proposed = await buyer.POST("/api/v1/projects/{id}/propose/", {
  params: { path: { id: project.id }, header: { "Idempotency-Key": `propose-${run}` } },
});
check(proposed.response.status === 200 && proposed.data !== undefined, "propose: 200", proposed.error);
check(proposed.data.status === "pending" && proposed.data.id === project.id, "the project is pending", proposed.data);
check(proposed.data.actions.includes("accept") === false, "the buyer is not offered accept", proposed.data);

// The buyer may not accept its own terms: 403 not_allowed.
{
  const refused = await buyer.POST("/api/v1/projects/{id}/accept/", {
    params: { path: { id: project.id }, header: { "Idempotency-Key": `accept-buyer-${run}` } },
  });
  check(refused.response.status === 403 && refused.error !== undefined, "the buyer accepting: 403", refused.data);
  check(refused.error.error.code === "not_allowed", "not_allowed", refused.error);
}

const accepted = await seller.POST("/api/v1/projects/{id}/accept/", {
  params: { path: { id: project.id }, header: { "Idempotency-Key": `accept-${run}` } },
});
check(accepted.response.status === 200 && accepted.data !== undefined, "accept: 200", accepted.error);
check(accepted.data.actions.includes("fund") === false, "the seller is not offered fund", accepted.data);

const page = await buyer.GET("/api/v1/projects/", { params: { query: { ordering: "-created_at" } } });
check(page.response.status === 200 && page.data !== undefined, "list the projects: 200", page.error);
check(page.data.count === 1 && page.data.results.length === 1, "one project", page.data);
const [listed] = page.data.results;
check(listed !== undefined && listed.id === project.id && listed.status === "pending", "the project, pending", listed);
check(listed.total_amount === "1500.00" && listed.seller_id === sellerId && listed.buyer_id === buyerId,
  "amounts as strings, both parties", listed);

console.log(JSON.stringify({ ok: true, project: project.id, milestones: milestones.map((m) => m.id) }));
