import { portal } from "../../vite.portal.ts";

export default portal("staff", "/staff/");
