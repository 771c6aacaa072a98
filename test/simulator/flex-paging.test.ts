import { afterEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/simulator/index.js";
import { GROUP, apiGet, baseScenario, fetchToken, jobUrl, json, start } from "./helpers.js";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const IDS = Array.from(
  { length: 7 },
  (_, i) => `aaaaaaaaaaaaaaaaaaaaaa${String(i).padStart(2, "0")}`,
);
/** The Flex LIST comes newest first, as Atlas's does: IDS were created in order. */
const NEWEST_FIRST = [...IDS].reverse();

async function setup() {
  sim = await start(
    baseScenario({
      clusters: [
        { groupId: GROUP, name: "Flex0", kind: "flex" },
        { groupId: GROUP, name: "Cluster0", kind: "tenant" },
      ],
      jobs: [
        ...IDS.map((id, i) => ({
          groupId: GROUP,
          clusterName: "Flex0",
          id,
          createdAfterSeconds: i - 10,
          script: [{ afterSeconds: i - 10, status: "RUNNING" }],
        })),
        ...IDS.map((id) => ({
          groupId: GROUP,
          clusterName: "Cluster0",
          id: id.replace("aa", "bb"),
          script: [{ afterSeconds: 0, status: "RUNNING" }],
        })),
      ],
    }),
  );
  const token = await fetchToken(sim);
  const list = jobUrl(sim, "flex", { groupId: GROUP, clusterName: "Flex0" });
  const page = async (query: string) => {
    const answer = await apiGet(`${list}${query}`, "flex", token);
    return { status: answer.status, body: json(answer) };
  };
  return { sim, token, list, page };
}

type Page = {
  results: { id: string }[];
  links: { rel: string; href: string }[];
  totalCount?: number;
};

describe("the flex LIST", () => {
  it("serves 100 items from page 1 by default, newest first, with a self link and totalCount", async () => {
    const { list, page } = await setup();
    const { status, body } = await page("");
    const p = body as unknown as Page;
    expect(status).toBe(200);
    expect(p.results.map((r) => r.id)).toEqual(NEWEST_FIRST);
    expect(p.totalCount).toBe(7);
    expect(p.links).toEqual([{ href: `${list}?pageNum=1&itemsPerPage=100`, rel: "self" }]);
  });

  it("pages with pageNum and itemsPerPage, linking previous and next pages", async () => {
    const { list, page } = await setup();
    const pages = [];
    for (const n of [1, 2, 3, 4])
      pages.push((await page(`?pageNum=${n}&itemsPerPage=3`)).body as unknown as Page);
    expect(pages.map((p) => p.results.map((r) => r.id))).toEqual([
      NEWEST_FIRST.slice(0, 3),
      NEWEST_FIRST.slice(3, 6),
      NEWEST_FIRST.slice(6),
      [],
    ]);
    expect(pages.map((p) => p.totalCount)).toEqual([7, 7, 7, 7]);
    const href = (n: number) => `${list}?pageNum=${n}&itemsPerPage=3`;
    expect(pages.map((p) => p.links)).toEqual([
      [
        { href: href(1), rel: "self" },
        { href: href(2), rel: "next" },
      ],
      [
        { href: href(2), rel: "self" },
        { href: href(1), rel: "previous" },
        { href: href(3), rel: "next" },
      ],
      [
        { href: href(3), rel: "self" },
        { href: href(2), rel: "previous" },
      ],
      [
        { href: href(4), rel: "self" },
        { href: href(3), rel: "previous" },
      ],
    ]);
  });

  it("omits totalCount with includeCount=false", async () => {
    const { page } = await setup();
    const { body } = await page("?includeCount=false&itemsPerPage=500");
    expect(body).not.toHaveProperty("totalCount");
    expect((body as unknown as Page).results).toHaveLength(7);
  });

  it.each([
    "itemsPerPage=0",
    "itemsPerPage=501",
    "itemsPerPage=abc",
    "pageNum=0",
    "pageNum=-1",
    "includeCount=yes",
  ])("refuses %s with 400 INVALID_PARAMETER", async (query) => {
    const { page } = await setup();
    const { status, body } = await page(`?${query}`);
    expect([status, body["errorCode"]]).toEqual([400, "INVALID_PARAMETER"]);
  });

  it("leaves the tenant LIST unpaged whatever the query says", async () => {
    const { sim, token } = await setup();
    const url = `${jobUrl(sim, "tenant", { groupId: GROUP, clusterName: "Cluster0" })}?pageNum=2&itemsPerPage=1`;
    const body = json(await apiGet(url, "tenant", token)) as unknown as Page;
    expect([body.results.length, body.totalCount]).toEqual([7, 7]);
  });
});
