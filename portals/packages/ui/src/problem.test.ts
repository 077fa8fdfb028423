import { expect, it } from "vitest";
import { ApiError, placeError, toApiError } from "./problem";

const problem = (field: string | null) =>
  new ApiError({ type: "https://dotmac.io/problems/invalid", title: "Invalid", status: 422, detail: "must be an e-mail address", field });

it("puts a problem by the field it names, or its nearest parent on the form", () => {
  expect(placeError(problem("email"), ["display_name", "email"])).toEqual({ field: "email", message: "must be an e-mail address" });
  expect(placeError(problem("address.country"), ["address"])).toEqual({ field: "address", message: "must be an e-mail address" });
});

it("puts a problem without a field, or with one the form lacks, above the form, naming it", () => {
  expect(placeError(problem(null), ["email"])).toEqual({ field: null, message: "must be an e-mail address" });
  expect(placeError(problem("spec.limits.maxCustomers"), ["name"]).message).toBe("spec.limits.maxCustomers: must be an e-mail address");
});

it("turns a network failure into an error that can be shown", () => {
  const error = toApiError(new TypeError("Failed to fetch"));
  expect(error.status).toBe(0);
  expect(error.message).toBe("Failed to fetch");
});
