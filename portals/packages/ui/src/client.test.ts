import { expect, it } from "vitest";
import { csrf, CSRF_HEADER, readCookie } from "./client";

const cookies = "dotmac_session=hidden; dotmac_csrf=tok%3D1; other=x";

it("reads one cookie by name", () => {
  expect(readCookie("dotmac_csrf", cookies)).toBe("tok=1");
  expect(readCookie("missing", cookies)).toBeNull();
});

it("sends the CSRF token with writes only", async () => {
  const middleware = csrf("dotmac_csrf", () => cookies);
  const call = async (method: string) => {
    const request = new Request("http://isp.example/api/v1/customers", { method });
    const out = (await middleware.onRequest?.({ request } as never)) as Request;
    return out.headers.get(CSRF_HEADER);
  };
  expect(await call("POST")).toBe("tok=1");
  expect(await call("DELETE")).toBe("tok=1");
  expect(await call("GET")).toBeNull();
});
