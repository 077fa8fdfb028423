import { portal } from "../../vite.portal.ts";

export default portal("portal", "/portal/");
