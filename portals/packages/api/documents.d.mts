/** One committed OpenAPI document and the TypeScript generated from it. */
export interface Document {
  source: string;
  target: string;
}
export const documents: Document[];
export function render(source: string): Promise<string>;
