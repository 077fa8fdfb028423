import { expect, it } from "vitest";
import { back, FIRST, forward, pageNumber } from "./paging";

it("goes forward by next cursors and back by the remembered ones", () => {
  const second = forward(FIRST, "c1");
  const third = forward(second, "c2");
  expect(pageNumber(third)).toBe(3);
  expect(back(third)).toEqual(second);
  expect(back(back(third))).toEqual(FIRST);
  expect(back(FIRST)).toBe(FIRST);
});
